package io.sageptx.spec;

import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What one streaming multiprocessor of a GPU offers a kernel (CUDA programming guide, "technical
 * specifications per compute capability"): shared memory per CTA (the opt-in maximum of dynamic shared
 * memory, {@code cudaDevAttrMaxSharedMemoryPerBlockOptin}) and per SM, the shared memory the system
 * reserves per CTA, registers per SM and per thread, resident CTAs, threads per SM, and how FP8 mma.sync
 * runs. The planners and the tuner's candidate space size kernels from it, so that a kernel planned for an
 * {@link Arch} fits every device that runs that arch's PTX ({@link #of(Arch)}: the smallest of them).
 *
 * @param computeCapability major*10+minor (80, 86, 89, 90, 120, ...)
 * @param name              the devices, in words
 * @param smemPerBlock      largest dynamic shared memory of one CTA (opt-in), bytes
 * @param smemPerSm         shared memory of one SM, bytes
 * @param smemReservedPerBlock shared memory the system reserves per resident CTA (1 KB from sm_80 on), bytes
 * @param registersPerSm    32-bit registers of one SM
 * @param registersPerThread most registers one thread may use
 * @param maxCtasPerSm      resident CTAs per SM
 * @param maxThreadsPerSm   resident threads per SM
 * @param fp8               how e4m3 mma.sync runs
 */
public record ArchLimits(int computeCapability, String name, int smemPerBlock, int smemPerSm, int smemReservedPerBlock,
                         int registersPerSm, int registersPerThread, int maxCtasPerSm, int maxThreadsPerSm, Fp8Rate fp8) {

    /** How FP8 (e4m3) {@code mma.sync} runs on an architecture. */
    public enum Fp8Rate {
        /** No FP8 mma.sync (sm_80 family): the FP16 PV variant only. */
        NONE,
        /** Emulated by the compiler (F2FP conversions + two f16 HMMA per k32 step): at most the f16 rate (sm_90). */
        EMULATED,
        /** Native QMMA: FP8 with FP16 accumulators at the INT8 rate (sm_89, sm_120). */
        NATIVE
    }

    /** Registers are given to a warp in units of this many. */
    public static final int REGISTER_ALLOCATION_UNIT = 256;
    /** Shared memory is given to a CTA in units of this many bytes. */
    public static final int SMEM_ALLOCATION_UNIT = 128;

    private static final int KB = 1024;

    /** Every compute capability the table knows, by device. */
    public static final List<ArchLimits> DEVICES = List.of(
            new ArchLimits(80, "A100, A30 (sm_80)", 163 * KB, 164 * KB, KB, 65536, 255, 32, 2048, Fp8Rate.NONE),
            new ArchLimits(86, "RTX 30xx, A10, A40 (sm_86)", 99 * KB, 100 * KB, KB, 65536, 255, 16, 1536, Fp8Rate.NONE),
            new ArchLimits(87, "Jetson Orin (sm_87)", 163 * KB, 164 * KB, KB, 65536, 255, 16, 1536, Fp8Rate.NONE),
            new ArchLimits(89, "RTX 40xx, L4, L40 (sm_89)", 99 * KB, 100 * KB, KB, 65536, 255, 24, 1536, Fp8Rate.NATIVE),
            new ArchLimits(90, "H100, H200 (sm_90)", 227 * KB, 228 * KB, KB, 65536, 255, 32, 2048, Fp8Rate.EMULATED),
            new ArchLimits(100, "B200 (sm_100)", 227 * KB, 228 * KB, KB, 65536, 255, 32, 2048, Fp8Rate.NATIVE),
            new ArchLimits(103, "B300 (sm_103)", 227 * KB, 228 * KB, KB, 65536, 255, 32, 2048, Fp8Rate.NATIVE),
            new ArchLimits(110, "Jetson Thor (sm_110)", 227 * KB, 228 * KB, KB, 65536, 255, 32, 2048, Fp8Rate.NATIVE),
            new ArchLimits(120, "RTX 50xx, RTX PRO 6000 (sm_120)", 99 * KB, 100 * KB, KB, 65536, 255, 32, 1536, Fp8Rate.NATIVE),
            new ArchLimits(121, "DGX Spark GB10 (sm_121)", 99 * KB, 100 * KB, KB, 65536, 255, 32, 1536, Fp8Rate.NATIVE));

    /**
     * The limits of a device of compute capability major.minor: its own row, or for a device the table does
     * not know the smallest row of the arch it runs ({@link Arch#forDevice}).
     */
    public static ArchLimits forDevice(int major, int minor) {
        int cc = major * 10 + minor;
        for (ArchLimits l : DEVICES) {
            if (l.computeCapability == cc) return l;
        }
        return of(Arch.forDevice(major, minor));
    }

    /**
     * The limits every device that runs {@code arch}'s PTX has ({@link Arch#target}): the smallest of each
     * number over them. SM80: sm_80, sm_86, sm_87 (so an sm_80 kernel fits an RTX 3090); SM89: sm_89 and
     * the 9.1-11.x devices that run its PTX; SM90: sm_90; SM120: sm_120 and sm_121. The FP8 rate is the
     * arch's own. Computed once per arch (the decode planner asks on every call).
     */
    public static ArchLimits of(Arch arch) {
        return BY_ARCH.get(arch);
    }

    private static final Map<Arch, ArchLimits> BY_ARCH = byArch();

    private static Map<Arch, ArchLimits> byArch() {
        EnumMap<Arch, ArchLimits> m = new EnumMap<>(Arch.class);
        for (Arch a : Arch.values()) m.put(a, smallestOf(a));
        return Collections.unmodifiableMap(m);
    }

    private static ArchLimits smallestOf(Arch arch) {
        int smemBlock = Integer.MAX_VALUE;
        int smemSm = Integer.MAX_VALUE;
        int reserved = 0;
        int regs = Integer.MAX_VALUE;
        int regsThread = Integer.MAX_VALUE;
        int ctas = Integer.MAX_VALUE;
        int threads = Integer.MAX_VALUE;
        Fp8Rate fp8 = null;
        StringBuilder names = new StringBuilder();
        for (ArchLimits l : DEVICES) {
            if (Arch.forDevice(l.computeCapability / 10, l.computeCapability % 10) != arch) continue;
            smemBlock = Math.min(smemBlock, l.smemPerBlock);
            smemSm = Math.min(smemSm, l.smemPerSm);
            reserved = Math.max(reserved, l.smemReservedPerBlock);
            regs = Math.min(regs, l.registersPerSm);
            regsThread = Math.min(regsThread, l.registersPerThread);
            ctas = Math.min(ctas, l.maxCtasPerSm);
            threads = Math.min(threads, l.maxThreadsPerSm);
            if (l.computeCapability == arch.computeCapability()) fp8 = l.fp8;
            names.append(names.length() == 0 ? "" : ", ").append("sm_").append(l.computeCapability);
        }
        if (fp8 == null) throw new IllegalStateException("no limits for " + arch.target());
        return new ArchLimits(arch.computeCapability(), "every device that runs " + arch.target() + " PTX (" + names + ")",
                smemBlock, smemSm, reserved, regs, regsThread, ctas, threads, fp8);
    }

    /** Whether a CTA of {@code threads} threads and {@code smemBytes} of dynamic shared memory can launch at all. */
    public boolean fits(int threads, int smemBytes) {
        return threads <= 1024 && smemBytes <= smemPerBlock;
    }

    /** Resident CTAs per SM as far as shared memory goes (0: the CTA does not fit). */
    public int ctasBySmem(int smemBytes) {
        if (smemBytes > smemPerBlock) return 0;
        int perCta = roundUp(smemBytes, SMEM_ALLOCATION_UNIT) + smemReservedPerBlock;
        return Math.min(maxCtasPerSm, smemPerSm / perCta);
    }

    /** Resident CTAs per SM as far as the thread and CTA slots go. */
    public int ctasByThreads(int threads) {
        return Math.min(maxCtasPerSm, maxThreadsPerSm / threads);
    }

    /** Resident CTAs per SM as far as registers go, for {@code registers} per thread (0: more than a thread may have). */
    public int ctasByRegisters(int threads, int registers) {
        if (registers > registersPerThread) return 0;
        int perWarp = roundUp(Math.max(1, registers) * 32, REGISTER_ALLOCATION_UNIT);
        int warps = (threads + 31) / 32;
        return Math.min(maxCtasPerSm, registersPerSm / perWarp / warps);
    }

    /** Resident CTAs per SM: the smallest of the shared-memory, thread and register limits. */
    public int ctasPerSm(int threads, int smemBytes, int registers) {
        return Math.min(ctasBySmem(smemBytes), Math.min(ctasByThreads(threads), ctasByRegisters(threads, registers)));
    }

    /**
     * The most registers per thread with which {@code ctas} CTAs of {@code threads} threads are resident
     * together (a multiple of 8, at most {@link #registersPerThread}; 0 when even one register is too many).
     */
    public int registerBudget(int threads, int ctas) {
        int warps = (threads + 31) / 32;
        int perWarp = registersPerSm / (ctas * warps) / REGISTER_ALLOCATION_UNIT * REGISTER_ALLOCATION_UNIT;
        return Math.min(registersPerThread, perWarp / 32 / 8 * 8);
    }

    private static int roundUp(int v, int unit) {
        return (v + unit - 1) / unit * unit;
    }
}
