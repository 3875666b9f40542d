package io.sageptx.api;

import io.sageptx.call.MergeArgs;

import io.sageptx.cuda.CudaHandles;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernel.Args;
import io.sageptx.kernel.KernelLoader;
import io.sageptx.kernels.merge.MergeKernels;
import io.sageptx.kernels.merge.LseMergeEmitter;
import io.sageptx.kernels.merge.MergeSpec;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.Arch;
import jcuda.driver.CUstream;

/**
 * Merges partial attention outputs computed over disjoint key ranges, by their LSE, into the output of
 * one call over all keys: what ring attention and sequence-parallel attention need after each device
 * has attended to its share of the keys. Generated kernels ({@link LseMergeEmitter}), one launch per
 * {@value MergeSpec#MAX_PARTS} parts, queued on the caller's stream with no host synchronization and no
 * allocation. Thread-safe; the kernels are loaded once per (device, head dim, part count, dtype) through
 * {@link KernelLoader} (the disk cache).
 *
 * <pre>{@code
 * LseMerge merge = LseMerge.onDevice(0);
 * merge.merge(MergeArgs.builder().part(o0, lse0).part(o1, lse1).out(o, lse)
 *         .batch(b).heads(h).seqLen(lq).headDim(128).dtype(DType.BF16).build(), stream);
 * }</pre>
 */
public final class LseMerge {

    private final DeviceContext ctx;
    private final Arch arch;

    private LseMerge(DeviceContext ctx) {
        this.ctx = ctx;
        this.arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        PtxVersions.requireDriver(ctx.driverVersion(), PtxVersions.base(arch), ctx.name(), "the LSE merge");
    }

    /** On device {@code ordinal}, in its primary context. */
    public static LseMerge onDevice(int ordinal) {
        return new LseMerge(DeviceContext.of(ordinal));
    }

    /** On the device whose primary context is current on the calling thread ({@link DeviceContext#current()}). */
    public static LseMerge forCurrentContext() {
        return new LseMerge(DeviceContext.current());
    }

    /**
     * On the device whose primary context has the raw handle {@code cuContext} ({@link DeviceContext#forContext(long)}).
     *
     * @param cuContext the raw {@code CUcontext} handle of a device's primary context
     * @return a merge on that device
     */
    public static LseMerge forContext(long cuContext) {
        return new LseMerge(DeviceContext.forContext(cuContext));
    }

    /** On the device of {@code ctx} (e.g. {@code attention.context()}). */
    public static LseMerge of(DeviceContext ctx) {
        return new LseMerge(ctx);
    }

    /** Launches a merge of {@code parts} parts takes: 1 up to MAX_PARTS, then one more per MAX_PARTS - 1. */
    public static int launches(int parts) {
        return parts <= 1 ? 1 : (parts - 2) / (MergeSpec.MAX_PARTS - 1) + 1;
    }

    /**
     * Queues the merge on {@code stream} (null: the legacy default stream); arguments are checked first.
     * More than {@value MergeSpec#MAX_PARTS} parts: the first launch merges parts 0..31 into the output,
     * each next one merges the output with the next 31 parts, in place.
     */
    public void merge(MergeArgs a, CUstream stream) {
        a.validate();
        ctx.makeCurrent();
        int bytes = a.dtype().bytes();
        long[] partO = a.partO();
        long[] partLse = a.partLse();
        MergeKernels.Grid grid = new MergeKernels.Grid(a.seqLen(), a.heads(), a.batch());
        int done = 0;
        while (done < a.parts()) {
            boolean first = done == 0;
            int take = Math.min(a.parts() - done, first ? MergeSpec.MAX_PARTS : MergeSpec.MAX_PARTS - 1);
            int count = first ? take : take + 1;
            MergeSpec spec = new MergeSpec(a.headDim(), count, a.dtype(), arch);
            Args args = new Args().ptr("p_out_o", a.outO()).ptr("p_out_lse", a.outLse());
            int slot = 0;
            if (!first) { // the output so far is part 0 of this launch
                args.ptr("p_o0", a.outO()).ptr("p_lse0", a.outLse());
                slot = 1;
            }
            for (int n = done; n < done + take; n++, slot++) args.ptr("p_o" + slot, partO[n]).ptr("p_lse" + slot, partLse[n]);
            args.u32("p_l", a.seqLen()).u32("p_h", a.heads()).u64("p_sb", a.strideB() * bytes)
                    .u64("p_sh", a.strideH() * bytes).u64("p_sl", a.strideL() * bytes);
            KernelLoader.kernel(ctx, MergeKernels.module(spec), MergeKernels.kernel(spec)).launch(grid, args, stream);
            done += take;
        }
    }

    /**
     * Queues the merge on the stream with the raw handle {@code stream} (0: the legacy default stream, 2: the
     * per-thread default stream; any other must be a stream of this device's primary context).
     *
     * @param a      the merge
     * @param stream the raw {@code CUstream} handle
     */
    public void merge(MergeArgs a, long stream) {
        a.validate();
        merge(a, CudaHandles.stream(ctx, stream));
    }

    /** The device and primary context this merge runs in. */
    public DeviceContext context() {
        return ctx;
    }
}
