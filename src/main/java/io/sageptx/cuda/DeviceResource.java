package io.sageptx.cuda;

import java.util.Objects;

/**
 * A driver object that belongs to one device's primary context (a stream, an event, a module, a buffer):
 * its context, and the close-once life cycle. {@link #close()} is idempotent and thread-safe and releases
 * the driver object the first time only; any use after it throws {@link IllegalStateException}.
 */
public abstract class DeviceResource implements AutoCloseable {

    final DeviceContext ctx;
    private volatile boolean closed;

    DeviceResource(DeviceContext ctx) {
        this.ctx = Objects.requireNonNull(ctx, "ctx");
    }

    /** Releases the driver object; called once, by the first {@link #close()}. */
    abstract void release();

    /** The device this resource belongs to. */
    public DeviceContext context() {
        return ctx;
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Throws IllegalStateException when this resource is closed. */
    final void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " is closed: " + this);
        }
    }

    @Override
    public final void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        release();
    }
}
