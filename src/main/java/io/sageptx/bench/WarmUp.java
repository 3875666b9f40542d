package io.sageptx.bench;

import java.util.function.IntConsumer;

import io.sageptx.cuda.CudaStream;

/**
 * The warm-up before a benchmark point's timed calls: at least {@code calls} calls and at least {@code minMs} of
 * wall time with the GPU kept busy (a synchronization every 8 calls), so that the timing starts in the call's own
 * steady state: clocks that dropped while the host compiled or allocated are back up, and the power-capped
 * transient of a large random fill before the point has passed (on the H200 the SM clock stays below 1 GHz for
 * tens of ms after one; docs/notes/decode.md, "Power cap").
 */
final class WarmUp {

    private WarmUp() {
    }

    /** Runs {@code call} with the call's index until both limits are reached, then synchronizes {@code stream}. */
    static void run(CudaStream stream, int calls, double minMs, IntConsumer call) {
        long end = System.nanoTime() + (long) (minMs * 1e6);
        for (int n = 0; n < calls || System.nanoTime() < end; n++) {
            call.accept(n);
            if (n % 8 == 7) stream.synchronize();
        }
        stream.synchronize();
    }
}
