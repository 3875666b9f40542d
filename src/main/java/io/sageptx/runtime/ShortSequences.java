package io.sageptx.runtime;

import io.sageptx.call.AttentionArgs;
import io.sageptx.spec.Arch;
import io.sageptx.spec.QkPrecision;

/**
 * What a call that asks for no precision runs on short sequences: on sm_90 the 16-bit QK kernel
 * ({@link io.sageptx.spec.QkPrecision#FP16}: no quantization pass, exact-er) where it is faster than the INT8
 * path, whose three preprocessing launches are a fixed cost that long sequences amortize and short ones do not.
 *
 * <p>Measured on the H200 (2026-12-02, B=4, H=32, fp16, end to end, TFLOP/s, INT8 default vs 16-bit QK;
 * docs/benchmarks.md): D=128 non-causal 287 vs 406 at 1k, 423 vs 446 at 2k, 486 vs 470 at 3k; D=128 causal 169
 * vs 292 at 1k, 427 vs 440 at 4k; D=64 non-causal 224 vs 324 at 1k, 357 vs 371 at 3k, 388 vs 378 at 4k; D=64
 * causal 311 vs 339 at 4k; B=1, H=16, D=128: 58 vs 227 at 1k, 425 vs 465 at 4k, 532 vs 484 at 8k. With 128-key
 * blocks in the INT8 kernel (2026-12-03, run 33, 16-bit vs INT8): D=64 323 vs 258 at 1k, 361 vs 384 at 2k, causal
 * 293 vs 262 at 2k, 345 vs 384 at 4k; D=128 388 vs 311 at 1k, 444 vs 472 at 2k, causal 385 vs 324 at 2k, 435 vs
 * 479 at 4k: the crossover lies between 1024 and 2048 keys per row at both head dims. The rule compares the keys
 * an average query row sees (Lk, or Lk/2 when causal) with 1536; above D=128 (not measured) and on other
 * architectures (the 16-bit mma.sync kernel runs at the 16-bit rate, a quarter of INT8 on RTX 40/50) INT8 stays.
 *
 * <p>System property {@value #PROPERTY}: {@code auto} (the default, this rule) or {@code int8} (always the
 * INT8 kernel when nothing is asked; the GPU test suite runs so, to keep testing the INT8 kernels at small
 * shapes).
 */
public final class ShortSequences {

    /** The system property that chooses the policy: {@code auto} or {@code int8}. */
    public static final String PROPERTY = "sageptx.shortSequenceQk";

    /** Keys per query row up to which 16-bit QK is faster, {@code D <= 64}. */
    public static final int KEYS_D64 = 1536;

    /** Keys per query row up to which 16-bit QK is faster, {@code 64 < D <= 128}. */
    public static final int KEYS_D128 = 1536;

    private ShortSequences() {
    }

    /** Whether the policy of this process (the system property) lets short calls run 16-bit QK. */
    public static boolean enabled() {
        String v = System.getProperty(PROPERTY, "auto").trim();
        if (v.equals("auto")) return true;
        if (v.equals("int8")) return false;
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + v + " is not allowed; allowed: auto, int8");
    }

    /**
     * Whether a call runs the 16-bit QK kernel by this rule: nothing asked (no spec, PV variant or QK precision; or
     * QK precision {@code auto}, which then gives every head to 16-bit QK, the faster and the exact kernel there,
     * without the decision pass, and writes 1 into every head's {@code qkDecisions}),
     * sm_90, {@code D <= 128}, and the keys of an average query row (Lk, or Lk/2 causal) at most the crossover.
     */
    public static boolean uses16BitQk(AttentionArgs a, Arch arch, boolean enabled) {
        boolean open = a.qkPrecision() == null || a.qkPrecision() == QkPrecision.AUTO;
        if (!enabled || arch != Arch.SM90 || a.spec() != null || a.pv() != null || !open) return false;
        if (a.headDim() > 128) return false;
        long keys = a.causal() ? a.lk() / 2 : a.lk();
        return keys <= (a.headDim() <= 64 ? KEYS_D64 : KEYS_D128);
    }
}
