package io.sageptx.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * File operations the cache and the tuning database share: a file written to a temporary name in its
 * folder, forced to disk and renamed over the target in one atomic step (readers see the old or the
 * new content, never half of it), and a cross-process lock for read-modify-write of a small file.
 */
public final class AtomicFiles {

    /** Guards FileChannel locks within this JVM (FileLock is per process; two threads would throw). */
    private static final Map<Path, Object> JVM_LOCKS = new ConcurrentHashMap<>();

    private AtomicFiles() {
    }

    /** A unique temporary name in {@code folder} for {@code base}: {@code .tmp-<base>-<pid>-<nanos>}. */
    public static Path tempSibling(Path folder, String base) {
        return folder.resolve(".tmp-" + base + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime()
                + "-" + Thread.currentThread().getId());
    }

    /** Writes {@code data} to {@code file} and forces it to the device. */
    public static void writeDurably(Path file, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    /** Replaces {@code target} with {@code data} atomically (temporary file + rename). */
    public static void replace(Path target, byte[] data) throws IOException {
        Path tmp = tempSibling(target.getParent(), target.getFileName().toString());
        try {
            writeDurably(tmp, data);
            move(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Atomic rename; {@code replace} overwrites an existing file (not a non-empty folder). */
    public static void move(Path from, Path to, boolean replace) throws IOException {
        try {
            if (replace) {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the file system of " + to.getParent() + " cannot rename atomically", e);
        }
    }

    /** Runs {@code action} holding an exclusive lock on {@code lockFile} (created if missing), across processes. */
    public static <T> T withLock(Path lockFile, Supplier<T> action) throws IOException {
        Object jvmLock = JVM_LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), k -> new Object());
        synchronized (jvmLock) {
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = ch.lock()) {
                return action.get();
            }
        }
    }

    /** Deletes a folder and everything in it; returns the bytes freed. Missing is fine. */
    public static long deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        long[] bytes = {0};
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (Files.isRegularFile(p)) bytes[0] += Files.size(p);
                Files.deleteIfExists(p);
            }
        }
        return bytes[0];
    }
}
