package io.sageptx.cache;

/** A cache entry that cannot be used: truncated, altered, unparsable, or written for another key or GPU. */
public final class CorruptEntryException extends RuntimeException {
    public CorruptEntryException(String message) {
        super(message);
    }
}
