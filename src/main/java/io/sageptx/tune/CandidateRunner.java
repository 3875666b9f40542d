package io.sageptx.tune;

import io.sageptx.numerics.AccuracyBar;
import io.sageptx.spec.KernelSpec;

/**
 * What the autotuner asks of a device for one candidate. {@link GpuCandidateRunner} is the CUDA one;
 * tests use stubs, so the selection logic is tested without a GPU.
 */
public interface CandidateRunner {

    /**
     * Registers, local memory and shared memory of a compiled candidate, against the device's limits.
     *
     * @param registers         registers per thread
     * @param localBytes        local memory per thread (spills)
     * @param sharedBytes       shared memory per CTA, static and dynamic
     * @param threads           threads per CTA
     * @param maxSharedBytes    the device's shared memory limit per CTA (opt-in)
     * @param registersPerBlock the device's registers per CTA
     */
    record Resources(int registers, int localBytes, int sharedBytes, int threads, int maxSharedBytes,
                     int registersPerBlock) {

        /** Null when the candidate can run well, else why it is pruned. */
        public String pruneReason() {
            if (localBytes > 0) return registers + " registers, " + localBytes + " B local memory (spills)";
            if (sharedBytes > maxSharedBytes) return sharedBytes + " B shared memory > " + maxSharedBytes;
            if ((long) registers * threads > registersPerBlock) {
                return registers + " registers x " + threads + " threads > " + registersPerBlock + " per block";
            }
            return null;
        }
    }

    /** Shared memory the candidate needs, known before compiling it (0 if unknown). */
    int sharedBytesBeforeCompile(KernelSpec spec);

    /** The device's per-block shared memory limit. */
    int maxSharedBytes();

    /** Compiles (through the kernel cache) and loads the candidate; returns its resources. */
    Resources prepare(KernelSpec spec);

    /** Runs the candidate on the probe input and compares with the reference. */
    AccuracyBar.Accuracy probe(KernelSpec spec);

    /** Times the candidate on the tuning shape: per-call milliseconds after warm-up (CUDA events). */
    double[] time(KernelSpec spec);
}
