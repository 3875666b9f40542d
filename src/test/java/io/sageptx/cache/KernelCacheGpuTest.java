package io.sageptx.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.kernel.KernelLoader;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.call.AttentionArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.cuda.CubinLinker;
import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxLoadException;
import io.sageptx.cuda.PtxModule;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.runtime.AttentionKernels;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QuantGranularity;
import io.sageptx.testing.GpuTest;
import io.sageptx.numerics.AccuracyBar;

/**
 * The kernel cache on a GPU: a cold load JIT-compiles the PTX as a whole program and publishes its image; a second cache
 * on the same folder (as a new process would open it) loads every module from disk with a backend that
 * refuses to compile, and the disk-loaded kernels compute correct attention. Times are logged, not
 * asserted.
 */
@GpuTest
class KernelCacheGpuTest {

    @TempDir
    Path tmp;

    final List<String> warnings = Collections.synchronizedList(new ArrayList<>());

    /** The CUDA backend with compiling forbidden: a load through it can only come from disk. */
    static CubinBackend<PtxModule> noJit(DeviceContext ctx) {
        CubinBackend<PtxModule> real = DeviceKernelCache.backend(ctx);
        return new CubinBackend<>() {
            @Override
            public Compiled compile(String ptx, String name) {
                throw new AssertionError("compiled " + name + " although it is cached");
            }

            @Override
            public PtxModule load(byte[] cubin, String name) {
                return real.load(cubin, name);
            }
        };
    }

    @Test
    void coldCompileThenWarmLoadFromDiskWithoutJit() {
        DeviceContext ctx = DeviceContext.of(0);
        Arch arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        KernelSpec spec = KernelSpec.defaults(arch, 128, false, DType.FP16, DType.FP16);
        Path folder = DeviceKernelCache.folder(ctx, tmp);
        String cc = DeviceKernelCache.computeCapability(ctx);
        ModuleCache<PtxModule> cold = new ModuleCache<>(folder, cc, DeviceKernelCache.backend(ctx), warnings::add);
        ModuleCache<PtxModule> warm = new ModuleCache<>(folder, cc, noJit(ctx), warnings::add);
        System.out.println("device: " + ctx + "; cache folder " + folder);
        for (ModuleDef r : AttentionKernels.modules(spec)) {
            LoadedModule<PtxModule> a = cold.load(KernelLoader.key(ctx, r), r.ptx());
            assertEquals(LoadedModule.Source.COMPILED, a.source());
            assertFalse(a.metadata().kernels().isEmpty(), "the JIT info log named the kernels");
            for (KernelStats k : a.metadata().kernels()) {
                CudaKernel f = a.module().function(k.name());
                assertEquals(f.numRegs(), k.registers(), "registers of " + k.name() + " from the log vs the loaded function");
                System.out.println("  " + k);
            }
            LoadedModule<PtxModule> b = warm.load(KernelLoader.key(ctx, r), r.ptx());
            assertEquals(LoadedModule.Source.DISK, b.source());
            for (KernelStats k : a.metadata().kernels()) {
                assertEquals(k.registers(), b.module().function(k.name()).numRegs());
            }
            System.out.printf(Locale.ROOT, "%s %s: cold = JIT compile %.1f ms + cuModuleLoadData %.2f ms (cubin %d B); "
                            + "warm = cuModuleLoadData from disk %.2f ms%n", r.family(), spec, a.compileMillis(),
                    a.loadMillis(), a.metadata().cubinBytes(), b.loadMillis());
            a.module().close();
            b.module().close();
        }
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void kernelsLoadedFromDiskComputeAttention() {
        DeviceContext ctx = DeviceContext.of(0);
        Arch arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        // a spec no other test uses, so that AttentionKernels' in-process memo does not have it yet
        KernelSpec spec = KernelSpec.defaults(arch, 64, true, DType.BF16, DType.BF16).toBuilder().tiles(64, 4).quant(QuantGranularity.PER_BLOCK).build();
        Path folder = DeviceKernelCache.folder(ctx, tmp);
        ModuleCache<PtxModule> fill = new ModuleCache<>(folder, DeviceKernelCache.computeCapability(ctx),
                DeviceKernelCache.backend(ctx), warnings::add);
        for (ModuleDef r : AttentionKernels.modules(spec)) fill.load(KernelLoader.key(ctx, r), r.ptx()).module().close();
        CacheDirectory.override(tmp);
        try (SageAttention att = SageAttention.onDevice(0)) {
            AttentionKernels kk = att.kernels(spec);
            for (LoadedModule<PtxModule> m : kk.loadedModules()) {
                assertEquals(LoadedModule.Source.DISK, m.source(), m.metadata().key().family());
            }
            int n = 333;
            RandomInputs in = RandomInputs.generate(3, 1, 2, 2, n, n, 64, DType.BF16);
            AttentionReference.Result ref = in.reference(1 / Math.sqrt(64), true);
            AttentionArgs shape = AttentionArgs.builder().batch(1).heads(2).seqLen(n).headDim(64).dtype(DType.BF16)
                    .causal(true).spec(spec).build();
            SageAttention.HostResult r = att.forwardHost(shape, in.q16(), in.k16(), in.v16(), true);
            AccuracyBar.Accuracy acc = AccuracyBar.Accuracy.of(Half.decode(r.o(), DType.BF16), r.lse(), ref);
            System.out.println("disk-loaded " + spec + ": " + acc);
            assertEquals(null, AccuracyBar.forPv(spec.pv()).failure(acc));
        } finally {
            CacheDirectory.override(null);
        }
    }

    @Test
    void badPtxFailsWithTheJitLog() {
        DeviceContext ctx = DeviceContext.of(0);
        String ptx = ".version 7.8\n.target sm_80\n.address_size 64\n.visible .entry broken()\n{\n  bogus.instruction %r1;\n  ret;\n}\n";
        PtxLoadException e = assertThrows(PtxLoadException.class, () -> CubinLinker.link(ctx, ptx, "broken"));
        System.out.println("bad PTX: " + e.getMessage().lines().findFirst().orElse(""));
        assertFalse(e.errorLog().isEmpty(), "the error log is in the exception");
        assertTrue(e.getMessage().contains("bogus"), e.getMessage());
    }
}
