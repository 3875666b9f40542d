package io.sageptx.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;

/** One line for an error, in the user's terms: a file error says which file and why. */
final class UserErrors {

    private UserErrors() {
    }

    static String message(Throwable ex) {
        Throwable t = ex;
        if (t instanceof UncheckedIOException u && u.getCause() != null) t = u.getCause();
        if (t instanceof FileSystemException f) return fileError(f);
        if (t instanceof IOException && t.getCause() instanceof FileSystemException f) return fileError(f);
        String msg = t.getMessage() == null || t.getMessage().isBlank() ? t.getClass().getSimpleName() : t.getMessage();
        return msg.lines().findFirst().orElse(msg);
    }

    static String fileError(FileSystemException f) {
        String file = f.getFile() == null ? "" : f.getFile();
        String why;
        if (f instanceof NoSuchFileException) {
            Path p = Path.of(file);
            Path parent = p.toAbsolutePath().getParent();
            why = parent != null && !Files.isDirectory(parent) ? "no such directory" : "no such file";
            if (parent != null && Files.exists(parent) && !Files.isDirectory(parent)) why = parent + " is not a directory";
        } else if (f instanceof AccessDeniedException) {
            why = "permission denied";
        } else if (f instanceof FileAlreadyExistsException) {
            why = Files.isDirectory(Path.of(file)) ? "already exists" : "exists and is not a directory";
        } else if (f instanceof NotDirectoryException) {
            why = "not a directory";
        } else if (f instanceof DirectoryNotEmptyException) {
            why = "directory not empty";
        } else {
            String r = f.getReason();
            why = r == null || r.isBlank() ? f.getClass().getSimpleName() : r.substring(0, 1).toLowerCase(Locale.ROOT) + r.substring(1);
        }
        String other = f.getOtherFile() == null ? "" : " (" + f.getOtherFile() + ")";
        return (file.isEmpty() ? "" : file + ": ") + why + other;
    }
}
