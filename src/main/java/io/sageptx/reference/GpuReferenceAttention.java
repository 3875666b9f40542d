package io.sageptx.reference;

import java.util.Objects;

import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernel.Args;
import io.sageptx.kernel.KernelLoader;
import io.sageptx.kernels.reference.ReferenceKernels;
import io.sageptx.kernels.reference.ReferenceKernelEmitter;
import io.sageptx.kernels.reference.ReferenceSpec;

/**
 * SagePTX's own FP32 attention on the GPU ({@link ReferenceKernelEmitter}): the reference of the GPU
 * tests and of {@code verify} on shapes too large for the FP64 CPU reference. cuBLAS (JCublas 12.6, an
 * optional dependency) is not used: it does not load where only CUDA 13 is installed, and it may be
 * absent from the class path ({@link #cublasStatus()} says which).
 *
 * <p>Modules come through {@link KernelLoader} (the device's kernel cache on disk, compiled on a miss),
 * once per (device, spec), and are kept for the life of the JVM.
 */
public final class GpuReferenceAttention {

    private static volatile String cublasStatus;

    private GpuReferenceAttention() {
    }

    /**
     * Enqueues O = softmax(smScale * Q K^T [causal: key j visible to query i iff j &lt;= i]) V in FP32 on
     * {@code stream} and returns without synchronizing.
     *
     * @param stream       the stream, or {@code null} for the legacy default stream
     * @param q            device address of Q, 16-bit {@code [batch][heads][lq][D]}
     * @param k            device address of K, 16-bit {@code [batch][kvHeads][lk][D]}
     * @param v            device address of V, like K
     * @param oF32         device address of O, float32 {@code [batch][heads][lq][D]}
     * @param lseF32OrZero device address of the natural-log LSE, float32 {@code [batch][heads][lq]}, or 0
     *                     for none
     * @throws IllegalArgumentException on a null or mismatched argument, a zero address, a shape that is
     *                                  not positive, heads not a multiple of kvHeads, a grid beyond the
     *                                  launch limits, a non-finite scale, or a spec for a newer arch than
     *                                  the device
     */
    public static void run(DeviceContext ctx, CudaStream stream, ReferenceSpec spec, long q, long k, long v, long oF32,
                           long lseF32OrZero, int batch, int heads, int kvHeads, int lq, int lk, float smScale) {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(spec, "spec");
        if (stream != null && stream.context() != ctx) {
            throw new IllegalArgumentException("reference attention: " + stream + " belongs to another device than "
                    + ctx);
        }
        if (q == 0 || k == 0 || v == 0 || oF32 == 0) {
            throw new IllegalArgumentException("reference attention: null device address (q=0x" + Long.toHexString(q)
                    + " k=0x" + Long.toHexString(k) + " v=0x" + Long.toHexString(v) + " o=0x"
                    + Long.toHexString(oF32) + ")");
        }
        if (batch < 1 || heads < 1 || kvHeads < 1 || lq < 1 || lk < 1) {
            throw new IllegalArgumentException("reference attention: shape batch=" + batch + " heads=" + heads
                    + " kvHeads=" + kvHeads + " lq=" + lq + " lk=" + lk + "; all must be >= 1");
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("reference attention: heads=" + heads
                    + " is not a multiple of kvHeads=" + kvHeads);
        }
        if (heads > 65535 || batch > 65535) {
            throw new IllegalArgumentException("reference attention: heads=" + heads + " and batch=" + batch
                    + " must be <= 65535 (grid y and z)");
        }
        if (!Float.isFinite(smScale)) {
            throw new IllegalArgumentException("reference attention: sm_scale " + smScale + " is not finite");
        }
        if (spec.arch().computeCapability() > ctx.computeCapability()) {
            throw new IllegalArgumentException("reference attention: " + spec + " targets " + spec.arch().target()
                    + ", newer than " + ctx);
        }
        KernelLoader.kernel(ctx, ReferenceKernels.module(spec), ReferenceKernels.kernel(spec)).launch(
                new ReferenceKernels.Grid(lq, heads, batch), new Args().ptr("p_q", q).ptr("p_k", k).ptr("p_v", v)
                        .ptr("p_o", oF32).ptr("p_lse", lseF32OrZero).u32("p_lq", lq).u32("p_lk", lk).u32("p_h", heads)
                        .u32("p_group", heads / kvHeads).f32("p_scale", smScale),
                stream == null ? null : stream.handle());
    }

    /** The kernel of {@code spec} on {@code ctx}'s device, loaded through the kernel cache on first use. */
    static CudaKernel kernel(DeviceContext ctx, ReferenceSpec spec) {
        return KernelLoader.kernel(ctx, ReferenceKernels.module(spec), ReferenceKernels.kernel(spec)).function();
    }

    /**
     * One line on cuBLAS: whether JCublas2 initializes ({@code cublasCreate}), and that SagePTX's own FP32
     * reference kernel is what the large-shape reference uses either way. Probed once, then cached;
     * never throws.
     */
    public static String cublasStatus() {
        String s = cublasStatus;
        if (s == null) {
            synchronized (GpuReferenceAttention.class) {
                if (cublasStatus == null) {
                    cublasStatus = probeCublas();
                }
                s = cublasStatus;
            }
        }
        return s;
    }

    private static String probeCublas() {
        String reason;
        try {
            jcuda.jcublas.cublasHandle handle = new jcuda.jcublas.cublasHandle();
            int r = jcuda.jcublas.JCublas2.cublasCreate(handle);
            if (r == jcuda.jcublas.cublasStatus.CUBLAS_STATUS_SUCCESS) {
                try {
                    jcuda.jcublas.JCublas2.cublasDestroy(handle);
                } catch (Throwable ignored) {
                    // the probe only needed the create
                }
                return "cuBLAS available (JCublas2.cublasCreate succeeded), not used: using SagePTX's FP32 reference kernel";
            }
            reason = "cublasCreate returned " + jcuda.jcublas.cublasStatus.stringFor(r);
        } catch (NoClassDefFoundError e) {
            reason = "JCublas is not on the class path: it is an optional dependency of SagePTX ("
                    + e.getMessage() + ")";
        } catch (Throwable t) {
            reason = describe(t);
        }
        return "cuBLAS unavailable (" + reason + "): using SagePTX's FP32 reference kernel";
    }

    /** One line: the missing shared library when the message names one, else the root cause, bounded. */
    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage() == null ? "" : root.getMessage();
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("(\\S+\\.so[.0-9]*): cannot open shared object file[^\\n]*").matcher(msg);
        String missing = null;
        while (m.find()) {
            missing = m.group().trim();
        }
        if (missing != null) {
            return root.getClass().getSimpleName() + ": " + missing;
        }
        String line = root.getClass().getSimpleName() + (msg.isEmpty() ? "" : ": " + msg.replaceAll("\\s+", " ").trim());
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }
}
