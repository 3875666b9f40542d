package io.sageptx.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.sageptx.call.AppendArgs;
import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.PagedKvCache;
import io.sageptx.call.Strides;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaException;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernel.Args;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.KernelLoader;
import io.sageptx.kernel.Launch;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.kernels.decode.DecodeKernels;
import io.sageptx.kernels.decode.DecodePlan;
import io.sageptx.kernels.decode.DecodeSpec;
import io.sageptx.kernels.decode.KvFormat;
import io.sageptx.kernels.decode.SplitCombine;
import io.sageptx.numerics.QuantizedAttentionModel;
import io.sageptx.numerics.QuantKvLayout;
import io.sageptx.spec.Arch;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * Runs decode calls on one device. {@link #plan} is the whole call as data, with no device: the spec, the
 * split count, the workspace it needs and the launches (module, kernel, geometry, arguments by name): the
 * decode kernel, whose last CTAs combine a split call's partials where each warp has at most one row to combine,
 * else followed by the combine kernel (SplitCombine). {@link #forward} checks, plans and
 * queues them on the caller's stream (no host synchronization, no allocation with a caller workspace or
 * once the own workspace has grown).
 */
public final class DecodeRunner implements AutoCloseable {

    /**
     * What a plan needs to know of the device.
     *
     * @param arch      the device's architecture (the kernels' target)
     * @param sms       streaming multiprocessors
     * @param smemPerSm shared memory per multiprocessor in bytes
     */
    public record Device(Arch arch, int sms, int smemPerSm) {
        /** The description of the device of {@code ctx}. */
        public static Device of(DeviceContext ctx) {
            return new Device(Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor()),
                    ctx.multiprocessorCount(), ctx.maxSharedMemoryPerMultiprocessor());
        }
    }

    /**
     * One launch of a plan.
     *
     * @param <C>    what a call of the kernel is described by
     * @param module the module holding the kernel
     * @param kernel the kernel launched
     * @param call   the kernel's description of this launch (its grid)
     * @param args   the kernel's arguments, bound by name
     */
    public record Step<C>(ModuleDef module, KernelDef<C> kernel, C call, Args args) {
        /** The launch geometry of this step (grid, threads, shared memory). */
        public Launch launch() {
            return kernel.geometry().apply(call);
        }

        void run(DeviceContext ctx, CUstream stream) {
            prepare(ctx).launch(stream);
        }

        KernelLoader.Ready prepare(DeviceContext ctx) {
            return KernelLoader.kernel(ctx, module, kernel).prepare(call, args);
        }
    }

    /**
     * A whole call: its spec, splits, row chunks, workspace bytes and launches in order.
     *
     * @param spec           the kernel variant
     * @param splits         splits of each sequence's keys (1: not split, no workspace)
     * @param chunks         row chunks: the CTAs (grid x, per split) that the group * Lq query rows of one
     *                       (sequence, kv head) are divided into
     * @param workspaceBytes caller workspace the call needs (0 when not split)
     * @param steps          the launches in order: the decode kernel, then the combine kernel when the call is
     *                       split and does not combine in the decode kernel ({@link SplitCombine#fused})
     */
    public record Plan(DecodeSpec spec, int splits, int chunks, long workspaceBytes, List<Step<?>> steps) {
    }

    /**
     * A call already planned and bound: the same argument object (DecodeArgs and AppendArgs are immutable)
     * with the same workspace is launched again without planning, binding or allocating.
     */
    private record Prepared(Object args, long workspace, long workspaceBytes, long need, KernelLoader.Ready[] launches) {
    }

    /** Calls remembered per runner (by identity of their arguments), most recent first. */
    static final int PREPARED_CALLS = 16;

    private final DeviceContext ctx;
    private final Device device;
    private final Prepared[] prepared = new Prepared[PREPARED_CALLS];
    private DeviceBuffer own;
    private CudaEvent lastUse;
    private long allocations;

    /** A runner on the device of {@code ctx}; its own workspace is allocated on first use. */
    public DecodeRunner(DeviceContext ctx) {
        this.ctx = ctx;
        this.device = Device.of(ctx);
    }

    /** The device context this runner launches in. */
    public DeviceContext context() {
        return ctx;
    }

    /** What plans need to know of this runner's device. */
    public Device device() {
        return device;
    }

    /** Device allocations of the own workspace so far (constant once warmed). */
    public synchronized long allocations() {
        return allocations;
    }

    static KvFormat format(DecodeArgs a) {
        return switch (a.cache()) {
            case DENSE -> KvFormat.DENSE;
            case PAGED -> KvFormat.PAGED;
            case QUANTIZED -> KvFormat.PAGED_QUANT;
        };
    }

    /**
     * The default spec of a call on {@code dev}: {@link DecodePlan#defaults}, its ring made shallower where that
     * fills the CTAs' waves better ({@link DecodePlan#forCall}). The tuner may ask for others through
     * {@link #plan(DecodeArgs, Device, DecodeSpec, long, long)}.
     */
    public static DecodeSpec specFor(DecodeArgs a, Device dev) {
        DecodeSpec d = DecodePlan.defaults(dev.arch(), a.headDim(), a.dtype(), format(a), a.group() * a.lq());
        if (TILES != null) return new DecodeSpec(d.headDim(), d.dtype(), d.arch(), d.kv(), d.mTiles(), TILES[0], TILES[1]);
        long ctas = (long) a.batch() * a.kvHeads() * DecodePlan.of(d).rowChunks(a.group() * a.lq());
        return DecodePlan.forCall(d, ctas, dev.sms(), dev.smemPerSm());
    }

    /**
     * Warps and ring stages every decode call uses instead of the defaults, an experiment for benchmarks:
     * {@code -Dsageptx.decodeTiles=WxS} (e.g. {@code 8x3}); unset: the defaults. The spec (and so the kernel
     * cache key) carries them; a spec that needs more shared memory than the device has fails at launch.
     */
    static final int[] TILES = tiles(System.getProperty("sageptx.decodeTiles", ""));

    static int[] tiles(String v) {
        if (v.isBlank()) return null;
        String[] p = v.trim().split("x");
        try {
            if (p.length == 2) {
                int[] t = {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
                new DecodeSpec(128, io.sageptx.spec.DType.FP16, Arch.SM90, KvFormat.DENSE, 1, t[0], t[1]); // its limits
                return t;
            }
        } catch (IllegalArgumentException e) { // not numbers, or warps / stages the decode kernel does not take
            throw new IllegalArgumentException("-Dsageptx.decodeTiles=" + v + " is not allowed (" + e.getMessage()
                    + "); allowed: WxS warps x stages, e.g. 8x3", e);
        }
        throw new IllegalArgumentException("-Dsageptx.decodeTiles=" + v + " is not allowed; allowed: WxS warps x stages, e.g. 8x3");
    }

    /** The split count of a call: the one it asks for, else the heuristic ({@link DecodePlan#splits}). */
    public static int splitsFor(DecodeArgs a, DecodeSpec spec, Device dev) {
        if (a.splits() > 0) return a.splits();
        DecodePlan p = DecodePlan.of(spec);
        int chunks = p.rowChunks(a.group() * a.lq());
        long ctas = (long) a.batch() * a.kvHeads() * chunks;
        int s = p.splits(ctas, visibleKeys(a), dev.sms(), p.splitTargetPerSm(dev.smemPerSm()));
        // the partial rows ((split * B + b) * H + h) * Lq + i are 32-bit
        while (s > 1 && (long) a.rows() * s > Integer.MAX_VALUE) s--;
        return s;
    }

    /** The most keys any row of the call sees (top-left causal: at most Lq). */
    static int visibleKeys(DecodeArgs a) {
        return a.causal() == CausalMode.TOP_LEFT ? Math.min(a.lq(), a.maxKeys()) : a.maxKeys();
    }

    /** Shortest key length {@link #fromAttention} routes to the decode kernels. */
    public static final int ROUTE_MIN_LK = 64;

    /**
     * The decode call equivalent to an attention call, or null when the call is not a clear decode case:
     * not varlen, no spec or PV variant asked for, the same input and output dtype, 1 &lt;= Lq &lt;=
     * {@value DecodeSpec#MAX_LQ}, Lk &gt;= {@link #ROUTE_MIN_LK}, a decode head dim, output strides of 4
     * elements. The decode kernels read the 16-bit K and V directly (no quantization), so the result is the
     * exact-FP16-input attention (more accurate than the quantized prefill path); O, the LSE (natural log,
     * [B, H, Lq]) and the masks mean the same.
     */
    public static DecodeArgs fromAttention(AttentionArgs a) {
        if (a.isVarlen() || a.spec() != null || a.pv() != null || a.inType() != a.outType()) return null;
        if (a.lq() < 1 || a.lq() > DecodeSpec.MAX_LQ || a.lk() < ROUTE_MIN_LK) return null;
        if (!DecodeSpec.HEAD_DIMS.contains(a.headDim())) return null;
        Strides os = a.oStrides();
        if (os.batch() % 4 != 0 || os.head() % 4 != 0 || os.token() % 4 != 0) return null;
        Strides qs = a.qStrides();
        Strides ks = a.kStrides();
        Strides vs = a.vStrides();
        return DecodeArgs.builder().q(a.q()).o(a.o()).lse(a.lse()).batch(a.batch()).heads(a.heads()).kvHeads(a.kvHeads())
                .lq(a.lq()).headDim(a.headDim()).dtype(a.inType()).causal(a.causalMode()).smScale(a.smScale())
                .qStrides(qs.batch(), qs.head(), qs.token()).oStrides(os.batch(), os.head(), os.token())
                .dense(a.k(), a.v(), a.lk()).kStrides(ks.batch(), ks.head(), ks.token()).vStrides(vs.batch(), vs.head(), vs.token())
                .build();
    }

    /** The same call with at most {@code splits} splits (the heuristic's choice when it is smaller). */
    public static DecodeArgs withSplitsAtMost(DecodeArgs a, Device dev, int most) {
        int s = splitsFor(a, specFor(a, dev), dev);
        if (s <= most) return a;
        return a.toBuilder().splits(Math.max(1, most)).build();
    }

    /** The most splits whose workspace fits {@code bytes} (at least 1: an unsplit call needs none). */
    public static int splitsFitting(DecodeArgs a, long bytes) {
        long perSplit = (long) a.rows() * (a.headDim() + 1) * 4 + 512;
        long left = bytes - counterBytes(a);
        return (int) Math.max(1, Math.min(DecodeArgs.MAX_SPLITS, left / Math.max(1, perSplit)));
    }

    /**
     * Workspace bytes of a split call's arrival counters (SplitCombine): one per (sequence, kv head, row chunk),
     * counted for chunks of 16 rows (the most any spec has).
     */
    static long counterBytes(DecodeArgs a) {
        long chunks = (a.group() * (long) a.lq() + 15) / 16;
        return align(SplitCombine.COUNTER_BYTES * a.batch() * (long) a.kvHeads() * chunks);
    }

    private static final AtomicInteger TAGS = new AtomicInteger();

    /**
     * A new tag for a split call's counters: a mixed sequence number, never 0 or 0xffffffff (the words a fresh
     * or NaN-poisoned workspace most likely holds). A counter word another call or anything else left behind
     * is taken for one of this call's only if its high word equals this tag.
     */
    static int nextTag() {
        while (true) {
            int t = TAGS.incrementAndGet() * 0x9E3779B9;
            t ^= t >>> 16;
            if (t != 0 && t != -1) return t;
        }
    }

    /** Workspace bytes of a call (0 when it is not split); checks the arguments. */
    public static long workspaceBytes(DecodeArgs a, Device dev) {
        a.validate();
        DecodeSpec spec = specFor(a, dev);
        return workspaceBytes(a, spec, splitsFor(a, spec, dev));
    }

    static long workspaceBytes(DecodeArgs a, DecodeSpec spec, int splits) {
        if (splits <= 1) return 0;
        long rows = (long) a.rows() * splits;
        return align(rows * a.headDim() * 4) + align(rows * 4) + counterBytes(a);
    }

    private static long align(long n) {
        return (n + 255) / 256 * 256;
    }

    /** {@link #plan(DecodeArgs, Device, DecodeSpec, long, long)} with the default spec. */
    public static Plan plan(DecodeArgs a, Device dev, long workspace, long workspaceBytes) {
        a.validate();
        return plan(a, dev, specFor(a, dev), workspace, workspaceBytes);
    }

    /**
     * The launches of a call with {@code spec}, the workspace (when the call is split: {@code workspaceBytes}
     * at {@code workspace}, 256-byte aligned) checked. Needs no device.
     */
    public static Plan plan(DecodeArgs a, Device dev, DecodeSpec spec, long workspace, long workspaceBytes) {
        a.validate();
        if (spec.arch() != dev.arch() || spec.headDim() != a.headDim() || spec.dtype() != a.dtype()
                || spec.kv() != format(a)) {
            throw new IllegalArgumentException("spec " + spec + " does not match the call (" + format(a).id() + " d"
                    + a.headDim() + " " + a.dtype().shortName() + " on " + dev.arch().target() + ")");
        }
        DecodePlan p = DecodePlan.of(spec);
        int chunks = p.rowChunks(a.group() * a.lq());
        int splits = splitsFor(a, spec, dev);
        long need = workspaceBytes(a, spec, splits);
        long wsO = 0;
        long wsLse = 0;
        long wsCnt = 0;
        if (need > 0) {
            if (workspace == 0) throw new IllegalArgumentException("workspace is a null device pointer (the call is split "
                    + splits + " ways and needs " + need + " bytes: Decode.workspaceBytes(args))");
            if (workspace % 256 != 0) {
                throw new IllegalArgumentException("workspace = 0x" + Long.toHexString(workspace) + " is not aligned to 256 bytes");
            }
            if (workspaceBytes < need) {
                throw new IllegalArgumentException("workspaceBytes = " + workspaceBytes + " is too small: the call needs " + need
                        + " (Decode.workspaceBytes(args))");
            }
            wsO = workspace;
            wsLse = workspace + align((long) a.rows() * splits * a.headDim() * 4);
            if (SplitCombine.fused(spec, Math.min(a.group() * a.lq(), spec.rows()))) {
                wsCnt = wsLse + align((long) a.rows() * splits * 4);
            }
        }
        Args args = new Args().ptr("p_q", a.q()).ptr("p_o", a.o()).ptr("p_lse", a.lse()).ptr("p_ws_o", wsO)
                .ptr("p_ws_lse", wsLse).ptr("p_ws_cnt", wsCnt).u32("p_tag", wsCnt != 0 ? nextTag() : 0).ptr("p_flags", a.flags()).u32("p_lq", a.lq()).u32("p_group", a.group())
                .u32("p_hkv", a.kvHeads()).u32("p_batch", a.batch()).u32("p_chunks", chunks).u32("p_splits", splits)
                .u32("p_causal", a.causal() == CausalMode.NONE ? 0 : a.causal() == CausalMode.TOP_LEFT ? 1 : 2)
                .f32("p_scale", a.smScale() * QuantizedAttentionModel.LOG2_E);
        strides(args, "p_q", a.qStrides());
        strides(args, "p_o", a.oStrides());
        switch (a.cache()) {
            case DENSE -> {
                args.ptr("p_k", a.k()).ptr("p_v", a.v()).ptr("p_seqlens", a.seqLens()).ptr("p_table", 0)
                        .u32("p_lk", a.lk()).u32("p_tstride", 0).u32("p_nblocks", 0).u32("p_bshift", 0);
                strides(args, "p_k", a.kStrides());
                strides(args, "p_v", a.vStrides());
            }
            case PAGED -> {
                PagedKvCache c = a.paged();
                args.ptr("p_k", c.kPool()).ptr("p_v", c.vPool()).ptr("p_seqlens", a.seqLens()).ptr("p_table", a.blockTable())
                        .u32("p_lk", a.capacity()).u32("p_tstride", a.maxBlocks()).u32("p_nblocks", c.numBlocks())
                        .u32("p_bshift", Integer.numberOfTrailingZeros(c.blockSize()));
                args.strides("p_k", c.blockStride(), c.headStride(), c.tokenStride());
                args.strides("p_v", c.blockStride(), c.headStride(), c.tokenStride());
            }
            case QUANTIZED -> {
                var c = a.quantized();
                long head = QuantKvLayout.headBytes(c.blockSize(), c.headDim());
                // strides of the quantized pool in bytes: block, head; the token stride is the K row (D bytes)
                args.ptr("p_k", c.pool()).ptr("p_v", 0).ptr("p_seqlens", a.seqLens()).ptr("p_table", a.blockTable())
                        .u32("p_lk", a.capacity()).u32("p_tstride", a.maxBlocks()).u32("p_nblocks", c.numBlocks())
                        .u32("p_bshift", Integer.numberOfTrailingZeros(c.blockSize()));
                args.strides("p_k", head * c.kvHeads(), head, c.headDim());
                args.strides("p_v", 0, 0, 0);
            }
            default -> throw new IllegalStateException(a.cache().name());
        }
        List<Step<?>> steps = new ArrayList<>();
        steps.add(new Step<>(DecodeKernels.module(spec), DecodeKernels.kernel(spec),
                new DecodeKernels.Grid(chunks, splits, a.kvHeads(), a.batch()), args));
        if (splits > 1 && wsCnt == 0) {
            Args c = new Args().ptr("p_o", a.o()).ptr("p_lse", a.lse()).ptr("p_ws_o", wsO).ptr("p_ws_lse", wsLse)
                    .u32("p_rows", a.rows()).u32("p_lq", a.lq()).u32("p_heads", a.heads()).u32("p_splits", splits);
            strides(c, "p_o", a.oStrides());
            steps.add(new Step<>(DecodeKernels.combineModule(a.headDim(), a.dtype(), spec.arch()),
                    DecodeKernels.combineKernel(a.headDim(), a.dtype()), new DecodeKernels.Rows(a.rows()), c));
        }
        return new Plan(spec, splits, chunks, need, steps);
    }

    /** The launch of an append to the quantized cache; checks the arguments. Needs no device. */
    public static Step<DecodeKernels.Append> planAppend(AppendArgs a, Arch arch) {
        a.validate();
        var c = a.cache();
        Args args = new Args().ptr("p_pool", c.pool()).ptr("p_k", a.k()).ptr("p_v", a.v()).ptr("p_table", a.blockTable())
                .ptr("p_lens", a.seqLens()).ptr("p_lens_out", a.seqLensOut()).ptr("p_counts", a.counts()).ptr("p_flags", a.flags())
                .u32("p_n", a.tokens()).u32("p_tstride", a.maxBlocks()).u32("p_nblocks", c.numBlocks())
                .u32("p_bshift", Integer.numberOfTrailingZeros(c.blockSize()))
                .u32("p_headbytes", (int) QuantKvLayout.headBytes(c.blockSize(), c.headDim())).u32("p_hkv", c.kvHeads())
                .u32("p_batch", a.batch());
        strides(args, "p_k", a.kStrides());
        strides(args, "p_v", a.vStrides());
        if (a.tokens() == 1) {
            // decode steps: one warp per (sequence, kv head), no CTA barrier (append1.stg)
            return new Step<>(DecodeKernels.append1Module(c.headDim(), c.dtype(), arch), DecodeKernels.append1Kernel(c.headDim(), c.dtype()),
                    new DecodeKernels.Append(c.kvHeads(), a.batch()), args);
        }
        return new Step<>(DecodeKernels.appendModule(c.headDim(), c.dtype(), arch), DecodeKernels.appendKernel(c.headDim(), c.dtype()),
                new DecodeKernels.Append(c.kvHeads(), a.batch()), args);
    }

    /** Queues an append to the quantized cache on {@code stream}. */
    public void append(AppendArgs a, CUstream stream) {
        Prepared p = find(a, 0, 0);
        if (p == null) {
            Step<?> s = planAppend(a, device.arch());
            ctx.makeCurrent();
            p = remember(new Prepared(a, 0, 0, 0, new KernelLoader.Ready[] {s.prepare(ctx)}));
        }
        launch(p, stream);
    }

    private synchronized Prepared find(Object args, long workspace, long workspaceBytes) {
        for (int i = 0; i < prepared.length; i++) {
            Prepared p = prepared[i];
            if (p == null) return null;
            if (p.args() == args && p.workspace() == workspace && p.workspaceBytes() == workspaceBytes) {
                if (i > 0) {
                    System.arraycopy(prepared, 0, prepared, 1, i);
                    prepared[0] = p;
                }
                return p;
            }
        }
        return null;
    }

    private synchronized Prepared remember(Prepared p) {
        System.arraycopy(prepared, 0, prepared, 1, prepared.length - 1);
        prepared[0] = p;
        return p;
    }

    private synchronized void forgetWorkspace(long address) {
        int n = 0;
        for (Prepared p : prepared) {
            if (p != null && (p.workspace() != address || address == 0)) prepared[n++] = p;
        }
        for (int i = n; i < prepared.length; i++) prepared[i] = null;
    }

    private void launch(Prepared p, CUstream stream) {
        ctx.makeCurrent();
        for (KernelLoader.Ready r : p.launches()) r.launch(stream);
    }

    private Prepared prepare(DecodeArgs a, long workspace, long workspaceBytes) {
        Prepared p = find(a, workspace, workspaceBytes);
        if (p != null) return p;
        Plan plan = plan(a, device, workspace, workspaceBytes);
        ctx.makeCurrent();
        KernelLoader.Ready[] r = new KernelLoader.Ready[plan.steps().size()];
        for (int i = 0; i < r.length; i++) r[i] = plan.steps().get(i).prepare(ctx);
        return remember(new Prepared(a, workspace, workspaceBytes, plan.workspaceBytes(), r));
    }

    private static void strides(Args args, String prefix, Strides s) {
        args.strides(prefix, s.batch(), s.head(), s.token());
    }

    /** Bytes of caller workspace a call needs on this device (0 when not split). */
    public long workspaceBytes(DecodeArgs a) {
        return workspaceBytes(a, device);
    }

    /** Queues a call with caller workspace ({@code workspaceBytes} at {@code workspace}; unused when not split). */
    public void forward(DecodeArgs a, CUstream stream, long workspace, long workspaceBytes) {
        launch(prepare(a, workspace, workspaceBytes), stream);
    }

    /** Queues a call with this runner's own workspace (grown once, reuse ordered by an event). */
    public void forward(DecodeArgs a, CUstream stream) {
        Prepared unsplit = find(a, 0, 0);
        if (unsplit != null) {
            launch(unsplit, stream);
            return;
        }
        long need = workspaceBytes(a, device);
        if (need == 0) {
            forward(a, stream, 0, 0);
            return;
        }
        ctx.makeCurrent();
        CudaStream s = CudaStream.wrap(ctx, stream);
        synchronized (this) {
            if (own == null || own.bytes() < need) {
                if (lastUse != null) lastUse.synchronize();
                if (own != null) {
                    forgetWorkspace(own.address());
                    own.close();
                }
                own = DeviceBuffer.allocate(ctx, need + need / 4);
                allocations++;
            } else if (lastUse != null) {
                int r = JCudaDriver.cuStreamWaitEvent(s.handle(), lastUse.handle(), 0);
                if (r != 0) throw new CudaException(r, "cuStreamWaitEvent (ordering decode workspace reuse)");
            }
            forward(a, stream, own.address(), own.bytes());
            if (lastUse == null) lastUse = CudaEvent.create(ctx);
            lastUse.record(s);
        }
    }

    @Override
    public synchronized void close() {
        if (lastUse != null) lastUse.synchronize();
        if (own != null) own.close();
        own = null;
    }
}
