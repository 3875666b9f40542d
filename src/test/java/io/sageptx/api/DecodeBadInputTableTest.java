package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.PagedKvCache;
import io.sageptx.call.QuantizedKvCache;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.runtime.DecodeRunner;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * Every bad argument of a decode call is refused before any launch, with an IllegalArgumentException whose
 * message names it ({@link Decode#check}: the arguments, then the plan and the caller workspace). No
 * GPU: {@link #noCaseTouchedTheDevice}.
 */
class DecodeBadInputTableTest {

    static final DecodeRunner.Device DEV = new DecodeRunner.Device(Arch.SM90, 132, 228 * 1024);

    record Case(String name, Runnable call, String names) {
    }

    static PagedKvCache cache() {
        return PagedKvCache.of(0x100000, 0x200000, 1000, 16, 2, 128, DType.FP16);
    }

    /** A valid paged call: B=4, H=8, Hkv=2, Lq=1, D=128, fp16, block size 16, 64 blocks per sequence. */
    static DecodeArgs.Builder ok() {
        return DecodeArgs.builder().q(0x10000).o(0x20000).lse(0x30000).batch(4).heads(8).kvHeads(2).lq(1).headDim(128)
                .dtype(DType.FP16).paged(cache(), 0x40000, 64, 0x50000);
    }

    static DecodeArgs.Builder okDense() {
        return DecodeArgs.builder().q(0x10000).o(0x20000).batch(4).heads(8).kvHeads(2).lq(1).headDim(128).dtype(DType.FP16)
                .dense(0x100000, 0x200000, 1024);
    }

    static Runnable call(UnaryOperator<DecodeArgs.Builder> edit) {
        return () -> Decode.check(edit.apply(ok()).build(), DEV, 0, 0);
    }

    static Runnable dense(UnaryOperator<DecodeArgs.Builder> edit) {
        return () -> Decode.check(edit.apply(okDense()).build(), DEV, 0, 0);
    }

    static Runnable paged(UnaryOperator<PagedKvCache> edit) {
        return () -> Decode.check(ok().paged(edit.apply(cache()), 0x40000, 64, 0x50000).build(), DEV, 0, 0);
    }

    static Runnable quant(QuantizedKvCache c) {
        return () -> Decode.check(ok().quantized(c, 0x40000, 64, 0x50000).build(), DEV, 0, 0);
    }

    /** A split call (B=1, 32k keys) with the given workspace. */
    static Runnable workspace(long address, long bytes) {
        return () -> Decode.check(ok().batch(1).paged(cache(), 0x40000, 2048, 0x50000).build(), DEV, address, bytes);
    }

    static Case bad(String name, Runnable call, String names) {
        return new Case(name, call, names);
    }

    static List<Case> cases() {
        List<Case> t = new ArrayList<>();
        // ---- pointers
        t.add(bad("q null", call(b -> b.q(0)), "q is a null"));
        t.add(bad("o null", call(b -> b.o(0)), "o is a null"));
        t.add(bad("q unaligned", call(b -> b.q(0x10008)), "q = 0x10008"));
        t.add(bad("o unaligned", call(b -> b.o(0x20004)), "o = 0x20004"));
        t.add(bad("lse unaligned", call(b -> b.lse(0x30002)), "lse = 0x30002"));
        t.add(bad("flags unaligned", call(b -> b.flags(0x60001)), "flags = 0x60001"));
        // ---- shapes
        t.add(bad("batch 0", call(b -> b.batch(0)), "batch = 0"));
        t.add(bad("heads 0", call(b -> b.heads(0)), "heads = 0"));
        t.add(bad("kvHeads negative", call(b -> b.kvHeads(-1)), "kvHeads = -1"));
        t.add(bad("heads not a multiple of kvHeads", call(b -> b.heads(6).kvHeads(4)), "kvHeads = 4"));
        t.add(bad("batch above the grid limit", call(b -> b.batch(70000)), "batch = 70000"));
        t.add(bad("lq 0", call(b -> b.lq(0)), "lq = 0"));
        t.add(bad("lq above the decode limit", call(b -> b.lq(17)), "lq = 17"));
        t.add(bad("headDim 100", call(b -> b.headDim(100)), "headDim = 100"));
        t.add(bad("headDim 16", call(b -> b.headDim(16)), "headDim = 16"));
        t.add(bad("headDim 512", call(b -> b.headDim(512)), "headDim = 512"));
        t.add(bad("rows over 2^31 with splits", call(b -> b.batch(65535).heads(2048).kvHeads(2).lq(16).splits(2)), "rows"));
        // ---- scalars
        t.add(bad("dtype null", call(b -> b.dtype(null)), "dtype is null"));
        t.add(bad("causal null", call(b -> b.causal(null)), "causal mode is null"));
        t.add(bad("smScale NaN", call(b -> b.smScale(Float.NaN)), "smScale = NaN"));
        t.add(bad("smScale zero", call(b -> b.smScale(0f)), "smScale = 0.0"));
        t.add(bad("smScale infinite", call(b -> b.smScale(Float.POSITIVE_INFINITY)), "smScale = Infinity"));
        t.add(bad("splits negative", call(b -> b.splits(-1)), "splits = -1"));
        t.add(bad("splits too many", call(b -> b.splits(1000)), "splits = 1000"));
        // ---- Q / O strides
        t.add(bad("q stride not 16-byte", call(b -> b.qStrides(1024, 132, 128)), "qStrides"));
        t.add(bad("o stride not 8-byte", call(b -> b.oStrides(1024, 130, 128)), "oStrides"));
        t.add(bad("o rows overlap", call(b -> b.heads(8).oStrides(1024, 64, 128)), "overlap"));
        // ---- no cache / dense
        t.add(bad("no cache", () -> Decode.check(DecodeArgs.builder().q(0x10000).o(0x20000).headDim(128).build(), DEV, 0, 0),
                "cache"));
        t.add(bad("dense k null", dense(b -> b.dense(0, 0x200000, 1024)), "k is a null"));
        t.add(bad("dense v unaligned", dense(b -> b.dense(0x100000, 0x200008, 1024)), "v = 0x200008"));
        t.add(bad("dense lk 0", dense(b -> b.dense(0x100000, 0x200000, 0)), "lk = 0"));
        t.add(bad("dense k stride not 16-byte", dense(b -> b.kStrides(8L * 1024 * 128, 1024L * 128, 100)), "kStrides"));
        t.add(bad("dense v rows overlap", dense(b -> b.vStrides(8L * 1024 * 128, 1024L * 128, 64)), "vStrides"));
        t.add(bad("dense seqLens unaligned", dense(b -> b.seqLens(0x50002)), "seqLens = 0x50002"));
        t.add(bad("dense kvLayout null", () -> okDense().kvLayout(null), "kvLayout"));
        // ---- paged
        t.add(bad("paged cache null", call(b -> b.paged(null, 0x40000, 64, 0x50000)), "cache is null"));
        t.add(bad("paged kPool null", paged(c -> PagedKvCache.of(0, 0x200000, 1000, 16, 2, 128, DType.FP16)), "cache.kPool"));
        t.add(bad("paged vPool unaligned", paged(c -> PagedKvCache.of(0x100000, 0x200004, 1000, 16, 2, 128, DType.FP16)),
                "cache.vPool = 0x200004"));
        t.add(bad("paged no blocks", paged(c -> PagedKvCache.of(0x100000, 0x200000, 0, 16, 2, 128, DType.FP16)),
                "cache.numBlocks = 0"));
        t.add(bad("block size 8", paged(c -> PagedKvCache.of(0x100000, 0x200000, 1000, 8, 2, 128, DType.FP16)),
                "cache.blockSize = 8"));
        t.add(bad("block size 24", paged(c -> PagedKvCache.of(0x100000, 0x200000, 1000, 24, 2, 128, DType.FP16)),
                "cache.blockSize = 24"));
        t.add(bad("block size 512", paged(c -> PagedKvCache.of(0x100000, 0x200000, 1000, 512, 2, 128, DType.FP16)),
                "cache.blockSize = 512"));
        t.add(bad("cache kv heads differ", paged(c -> PagedKvCache.of(0x100000, 0x200000, 1000, 16, 4, 128, DType.FP16)),
                "cache.kvHeads = 4"));
        t.add(bad("cache head dim differs", paged(c -> PagedKvCache.of(0x100000, 0x200000, 1000, 16, 2, 64, DType.FP16)),
                "cache.headDim = 64"));
        t.add(bad("cache dtype differs from the call", paged(c -> PagedKvCache.of(0x100000, 0x200000, 1000, 16, 2, 128,
                DType.BF16)), "cache.dtype = bf16"));
        t.add(bad("cache dtype null", paged(c -> PagedKvCache.of(0x100000, 0x200000, 1000, 16, 2, 128, null)), "cache.dtype"));
        t.add(bad("cache token stride overlaps", paged(c -> c.withStrides(16L * 256, 64, 128)), "cache strides"));
        t.add(bad("cache stride not 16-byte", paged(c -> c.withStrides(16L * 256, 260, 128)), "cache strides"));
        t.add(bad("block table null", call(b -> b.paged(cache(), 0, 64, 0x50000)), "blockTable is a null"));
        t.add(bad("block table unaligned", call(b -> b.paged(cache(), 0x40002, 64, 0x50000)), "blockTable = 0x40002"));
        t.add(bad("seq_lens null", call(b -> b.paged(cache(), 0x40000, 64, 0)), "seqLens is a null"));
        t.add(bad("max blocks 0", call(b -> b.paged(cache(), 0x40000, 0, 0x50000)), "maxBlocks = 0"));
        t.add(bad("max blocks overflow the keys", call(b -> b.paged(cache(), 0x40000, 200_000_000, 0x50000)),
                "maxBlocks = 200000000"));
        t.add(bad("maxSeqLen above the capacity", call(b -> b.maxSeqLen(64 * 16 + 1)), "maxSeqLen = 1025"));
        // ---- quantized
        t.add(bad("quantized pool null", quant(new QuantizedKvCache(0, 100, 64, 2, 128, DType.FP16)), "cache.pool is a null"));
        t.add(bad("quantized block size 1024", quant(new QuantizedKvCache(0x100000, 100, 1024, 2, 128, DType.FP16)),
                "cache.blockSize = 1024"));
        t.add(bad("quantized dtype differs", quant(new QuantizedKvCache(0x100000, 100, 64, 2, 128, DType.BF16)),
                "cache.dtype = bf16"));
        t.add(bad("quantized head dim differs", quant(new QuantizedKvCache(0x100000, 100, 64, 2, 96, DType.FP16)),
                "cache.headDim = 96"));
        // ---- caller workspace of a split call
        long need = Decode.workspaceBytes(ok().batch(1).paged(cache(), 0x40000, 2048, 0x50000).build(), DEV);
        t.add(bad("workspace null", workspace(0, need), "workspace is a null"));
        t.add(bad("workspace unaligned", workspace(0x700080, need), "workspace = 0x700080"));
        t.add(bad("workspace too small", workspace(0x700000, need - 1), "workspaceBytes = " + (need - 1)));
        return t;
    }

    @TestFactory
    Stream<DynamicTest> everyBadInputIsRefusedByName() {
        return cases().stream().map(c -> dynamicTest(c.name(), () -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c.call()::run, c.name());
            assertTrue(e.getMessage().contains(c.names()),
                    c.name() + ": the message must name the argument ('" + c.names() + "'): " + e.getMessage());
        }));
    }

    static DecodeRunner.Plan checkWithWorkspace(DecodeArgs a) {
        long need = Decode.workspaceBytes(a, DEV);
        return Decode.check(a, DEV, need > 0 ? 0x700000 : 0, need);
    }

    @Test
    void validCallsPass() {
        checkWithWorkspace(ok().build());
        checkWithWorkspace(okDense().seqLens(0x50000).causal(CausalMode.BOTTOM_RIGHT).lq(16).build());
        checkWithWorkspace(ok().quantized(new QuantizedKvCache(0x100000, 100, 64, 2, 128, DType.FP16), 0x40000, 64, 0x50000)
                .build());
        DecodeRunner.Plan split = checkWithWorkspace(ok().batch(1).paged(cache(), 0x40000, 2048, 0x50000).build());
        assertTrue(split.splits() > 1 && split.workspaceBytes() > 0 && split.steps().size() == 1,
                "split, 4 rows per kv head on 4 warps: combined in the decode kernel");
        DecodeRunner.Plan split16 = checkWithWorkspace(ok().batch(1).lq(4).paged(cache(), 0x40000, 2048, 0x50000).build());
        assertTrue(split16.splits() > 1 && split16.steps().size() == 2,
                "split, 16 rows per kv head on 4 warps: the combine kernel follows");
        DecodeArgs full = okDense().batch(64).heads(32).kvHeads(8).build();
        assertEquals(0, Decode.workspaceBytes(full, DEV), "64 sequences x 8 kv heads fill the GPU: no split");
        assertEquals(1, Decode.check(full, DEV, 0, 0).steps().size());
    }

    @Test
    void theTableHasAtLeastFortyDistinctCases() {
        Set<String> names = new LinkedHashSet<>();
        for (Case c : cases()) assertTrue(names.add(c.name()), "duplicate case " + c.name());
        assertTrue(names.size() >= 40, names.size() + " cases");
    }

    @Test
    void noCaseTouchedTheDevice() {
        long before = DeviceBuffer.allocationCount();
        for (Case c : cases()) {
            try {
                c.call().run();
            } catch (IllegalArgumentException expected) {
                // refused before the device
            }
        }
        assertEquals(before, DeviceBuffer.allocationCount());
    }
}
