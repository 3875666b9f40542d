package io.sageptx.cache;

/** A cache entry that cannot be used: truncated, altered, unparsable, or written for another key or GPU. */
public final class CorruptEntryException extends RuntimeException {
    /** An entry refused for {@code message} (one line). */
    public CorruptEntryException(String message) {
        super(message);
    }
}
