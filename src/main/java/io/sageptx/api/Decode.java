package io.sageptx.api;

import io.sageptx.call.AppendArgs;
import io.sageptx.call.DecodeArgs;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernels.decode.DecodeSpec;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.runtime.DecodeRunner;
import jcuda.driver.CUstream;

/**
 * Decode attention on one CUDA device: a few query rows per sequence (1 .. {@value DecodeSpec#MAX_LQ}:
 * generation, speculative decoding, chunked prefill steps) against a KV cache that is dense, paged
 * (vLLM / FlashAttention block tables) or SagePTX's quantized paged cache, at the memory-bandwidth limit.
 * The 16-bit caches are read directly (no quantization pass); all query heads of a KV group share one
 * read of each K/V element; long caches are split across CTAs and merged by their LSE.
 *
 * <pre>{@code
 * Decode decode = Decode.onDevice(0);
 * DecodeArgs a = DecodeArgs.builder().q(q).o(o).batch(b).heads(32).kvHeads(8).lq(1).headDim(128)
 *         .dtype(DType.BF16).causal(CausalMode.BOTTOM_RIGHT)
 *         .paged(PagedKvCache.of(kPool, vPool, numBlocks, 16, 8, 128, DType.BF16), blockTable, maxBlocks, seqLens)
 *         .build();
 * long bytes = decode.workspaceBytes(a);          // 0 when the call is not split
 * decode.forward(a, stream, workspace, bytes);    // queued on the stream, no host sync, no allocation
 * }</pre>
 *
 * Arguments are checked before anything is launched ({@link DecodeArgs#validate}); bad device data
 * (a length or block index out of range) never faults: the sequence's rows come out NaN and its flag is
 * set ({@link DecodeArgs}). Thread-safe; the kernels are loaded once per (device, variant) through the
 * disk cache.
 */
public final class Decode implements AutoCloseable {

    private final DecodeRunner runner;

    private Decode(DeviceContext ctx) {
        this.runner = new DecodeRunner(ctx);
        PtxVersions.requireDriver(ctx.driverVersion(), PtxVersions.base(runner.device().arch()), ctx.name(), "decode");
    }

    /** On device {@code ordinal}, in its primary context. */
    public static Decode onDevice(int ordinal) {
        return new Decode(DeviceContext.of(ordinal));
    }

    /** On the device whose primary context is current on the calling thread. */
    public static Decode forCurrentContext() {
        return new Decode(DeviceContext.current());
    }

    /** On the device of {@code ctx}. */
    public static Decode of(DeviceContext ctx) {
        return new Decode(ctx);
    }

    /** The device context this instance launches in. */
    public DeviceContext context() {
        return runner.context();
    }

    /** The runner that does the work. */
    public DecodeRunner runner() {
        return runner;
    }

    /** The kernel variant a call runs with. */
    public DecodeSpec specFor(DecodeArgs a) {
        a.validate();
        return DecodeRunner.specFor(a, runner.device());
    }

    /**
     * The number of splits of each sequence's keys a call runs with: the one it asks for, else the
     * heuristic from (sequences x kv heads, the longest sequence, SMs) that fills the GPU
     * ({@link io.sageptx.kernels.decode.DecodePlan#splits}); tuners time others with
     * {@link DecodeArgs.Builder#splits}.
     */
    public int splitsFor(DecodeArgs a) {
        a.validate();
        return DecodeRunner.splitsFor(a, specFor(a), runner.device());
    }

    /** Bytes of caller workspace the call needs (0 when it is not split). Checks the arguments. */
    public long workspaceBytes(DecodeArgs a) {
        return runner.workspaceBytes(a);
    }

    /** {@link #workspaceBytes(DecodeArgs)} for a device described by hand; needs no GPU. */
    public static long workspaceBytes(DecodeArgs a, DecodeRunner.Device device) {
        return DecodeRunner.workspaceBytes(a, device);
    }

    /** Every check of a call that can be made without a device (the arguments, the workspace). */
    static DecodeRunner.Plan check(DecodeArgs a, DecodeRunner.Device device, long workspace, long workspaceBytes) {
        return DecodeRunner.plan(a, device, workspace, workspaceBytes);
    }

    /**
     * Queues the call on {@code stream} (null: the legacy default stream) with caller workspace
     * ({@code workspaceBytes} at {@code workspace}, 256-byte aligned; may be 0 when {@link #workspaceBytes}
     * is 0). Nothing is allocated or synchronized; the caller must not reuse the workspace for another call
     * until this one is done.
     */
    public void forward(DecodeArgs a, CUstream stream, long workspace, long workspaceBytes) {
        runner.forward(a, stream, workspace, workspaceBytes);
    }

    /** Queues the call with this instance's own workspace (grown once; calls are ordered by an event). */
    public void forward(DecodeArgs a, CUstream stream) {
        runner.forward(a, stream);
    }

    /**
     * Queues an append of new tokens to a quantized cache on {@code stream}: INT8 K (per-token scales, per-block
     * smoothing mean), FP8 V (per-block power-of-two channel scales), by the rules of
     * {@link io.sageptx.numerics.QuantizedKvCacheModel} (byte-identical). One launch, no host sync.
     */
    public void append(AppendArgs a, CUstream stream) {
        runner.append(a, stream);
    }

    @Override
    public void close() {
        runner.close();
    }
}
