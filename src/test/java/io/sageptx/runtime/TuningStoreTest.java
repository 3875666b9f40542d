package io.sageptx.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.spec.SpecCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QuantGranularity;

/** Tuning keys, the spec codec and the tuning database. */
class TuningStoreTest {

    @TempDir
    Path tmp;

    final List<String> warnings = Collections.synchronizedList(new ArrayList<>());

    static TuningKey key(int n) {
        return new TuningKey("sm_90-H100", DType.FP16, DType.FP16, 128, false, TuningKey.bucket(n, n));
    }

    static final KernelSpec WIN = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16).toBuilder().tiles(128, 4).quant(QuantGranularity.PER_WARP).build();

    @Test
    void buckets() {
        assertEquals(512, TuningKey.bucket(1, 1));
        assertEquals(512, TuningKey.bucket(512, 100));
        assertEquals(1024, TuningKey.bucket(513, 1));
        assertEquals(4096, TuningKey.bucket(3000, 4096));
        assertEquals(32768, TuningKey.bucket(32768, 1));
        assertEquals(32768, TuningKey.bucket(1 << 20, 1));
        assertEquals(32768, TuningKey.bucket(Integer.MAX_VALUE, 1));
        assertThrows(IllegalArgumentException.class, () -> new TuningKey("g", DType.FP16, DType.FP16, 128, false, 1000));
    }

    @Test
    void keyIdsRoundTrip() {
        TuningKey k = new TuningKey("g", DType.BF16, DType.FP16, 64, true, 8192);
        assertEquals("bf16-fp16.d64.causal.n8192", k.id());
        assertEquals(k, TuningKey.parse("g", k.id()));
        assertThrows(IllegalArgumentException.class, () -> TuningKey.parse("g", "fp16.d64"));
        assertThrows(IllegalArgumentException.class, () -> TuningKey.parse("g", "fp16-fp16.dx.full.n512"));
    }

    @Test
    void codecRefusesGarbage() {
        assertThrows(IllegalArgumentException.class, () -> SpecCodec.decode("d=128"));
        assertThrows(IllegalArgumentException.class, () -> SpecCodec.decode("garbage"));
        assertThrows(IllegalArgumentException.class,
                () -> SpecCodec.decode(SpecCodec.encode(WIN).replace("w=4", "w=5")));
        assertThrows(IllegalArgumentException.class,
                () -> SpecCodec.decode(SpecCodec.encode(WIN).replace("causal=false", "causal=maybe")));
    }

    @Test
    void winnersPersistAcrossInstances() {
        TuningDb db = new TuningDb(tmp.resolve("tuning"), warnings::add);
        assertEquals(Optional.empty(), db.winner(key(4096)));
        db.store(key(4096), WIN, 3.25);
        assertEquals(Optional.of(WIN), db.winner(key(3000)));
        assertEquals(Optional.empty(), db.winner(key(8192)));
        TuningDb again = new TuningDb(tmp.resolve("tuning"), warnings::add);
        assertEquals(Optional.of(WIN), again.winner(key(4096)));
        assertEquals(3.25, again.entries("sm_90-H100").get(key(4096).id()).ms(), 1e-9);
        assertEquals(List.of("sm_90-H100"), again.gpus());
        assertTrue(warnings.isEmpty());
    }

    @Test
    void malformedLinesAreIgnoredWithAWarning() throws Exception {
        Path f = tmp.resolve("tuning");
        new TuningDb(f, warnings::add).store(key(4096), WIN, 1.0);
        Path file = f.resolve("sm_90-H100.properties");
        Files.writeString(file, Files.readString(file) + "fp16-fp16.d128.full.n1024.spec=d=128,q=99\nnonsense.spec=x\n"
                + "fp16-fp16.d64.full.n1024.spec=" + SpecCodec.encode(WIN) + "\n");
        TuningDb db = new TuningDb(f, warnings::add);
        assertEquals(Optional.of(WIN), db.winner(key(4096)));
        assertEquals(Optional.empty(), db.winner(key(1024)));
        assertEquals(3, warnings.size(), warnings.toString()); // bad spec, bad key, spec that does not fit its key
    }

    @Test
    void warningsGoToThePlatformLoggerByDefault() throws Exception {
        Path f = tmp.resolve("tuning");
        Files.createDirectories(f);
        Files.writeString(f.resolve("sm_90-H100.properties"), "nonsense.spec=x\n");
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger(TuningDb.class.getName());
        List<java.util.logging.LogRecord> records = Collections.synchronizedList(new ArrayList<>());
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override public void publish(java.util.logging.LogRecord r) { records.add(r); }
            @Override public void flush() { }
            @Override public void close() { }
        };
        jul.addHandler(h);
        try {
            assertTrue(new TuningDb(f).entries("sm_90-H100").isEmpty());
        } finally {
            jul.removeHandler(h);
        }
        assertEquals(1, records.size(), records.toString());
        assertEquals(java.util.logging.Level.WARNING, records.get(0).getLevel());
        assertEquals("io.sageptx.runtime.TuningDb", records.get(0).getLoggerName());
        assertTrue(records.get(0).getMessage().startsWith("sageptx tuning: ignoring entry 'nonsense'"), records.get(0).getMessage());
    }

    @Test
    void anUnwritableFolderKeepsWinnersInMemory() throws Exception {
        Path file = tmp.resolve("file");
        Files.writeString(file, "x");
        TuningDb db = new TuningDb(file.resolve("tuning"), warnings::add);
        db.store(key(4096), WIN, 1.0);
        db.store(key(8192), WIN, 1.0);
        assertEquals(Optional.of(WIN), db.winner(key(8192)));
        assertEquals(1, warnings.size(), warnings.toString());
    }

    @Test
    void concurrentStoresLoseNoKey() throws Exception {
        Path f = tmp.resolve("tuning");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int n = 512 << t;
                fs.add(pool.submit(() -> new TuningDb(f, warnings::add).store(key(n), WIN, n)));
            }
            for (Future<?> x : fs) x.get();
        } finally {
            pool.shutdown();
        }
        assertEquals(4, new TuningDb(f, warnings::add).entries("sm_90-H100").size());
    }
}
