package io.sageptx.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache's file handling with a stub compiler (no GPU): hits, misses, publication, faults. */
class ModuleCacheTest {

    @TempDir
    Path tmp;

    final List<String> warnings = Collections.synchronizedList(new ArrayList<>());

    static ModuleKey key(String spec) {
        return new ModuleKey("attention", "gen-1+0123", "tpl-hash", spec, "9.0", 13000);
    }

    static String ptx(String spec) {
        return "// PTX of " + spec + "\n.version 8.7\n.target sm_90a\n.entry k() { ret; }\n";
    }

    ModuleCache<String> cache(Path folder, FakeBackend b) {
        return new ModuleCache<>(folder, b.cc, b, warnings::add);
    }

    LoadedModule<String> load(ModuleCache<String> c, String spec) {
        return c.load(key(spec), () -> ptx(spec));
    }

    Path entry(Path folder, String spec) {
        return folder.resolve(key(spec).digest());
    }

    @Test
    void missCompilesPublishesAndIndexes() throws IOException {
        Path folder = tmp.resolve("kernels/sm_90-H100");
        FakeBackend b = new FakeBackend("9.0");
        LoadedModule<String> m = load(cache(folder, b), "d128");
        assertEquals(LoadedModule.Source.COMPILED, m.source());
        assertEquals(ptx("d128"), m.module());
        assertEquals(1, b.compiles.get());
        assertEquals(12.5, m.compileMillis());
        Path e = entry(folder, "d128");
        assertEquals(ptx("d128"), Files.readString(e.resolve(ModuleCache.PTX)));
        assertArrayEquals(FakeBackend.cubinFor("9.0", ptx("d128")), Files.readAllBytes(e.resolve(ModuleCache.CUBIN)));
        EntryMetadata meta = EntryMetadata.parse(Files.readAllBytes(e.resolve(ModuleCache.META)));
        assertEquals(key("d128"), meta.key());
        assertEquals(List.of(new KernelStats("k", 96, 0, 0, 0, 1024)), meta.kernels());
        assertEquals(Digests.sha256(FakeBackend.cubinFor("9.0", ptx("d128"))), meta.cubinSha256());
        assertEquals("attention | d128", CacheIndex.read(folder).get(key("d128").digest()));
        assertNoTemporaries(folder);
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    /** A backend like the CUDA one: the binary is the PTX image (PTX + NUL), loaded by returning its text. */
    static final class PtxImageBackend implements CubinBackend<String> {
        final java.util.concurrent.atomic.AtomicInteger compiles = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public Compiled compile(String ptx, String name) {
            compiles.incrementAndGet();
            return new Compiled(ModuleCache.ptxImage(ptx.getBytes(java.nio.charset.StandardCharsets.UTF_8)), "", 3.0);
        }

        @Override
        public String load(byte[] cubin, String name) {
            if (cubin.length == 0 || cubin[cubin.length - 1] != 0) throw new IllegalStateException("not a PTX image: " + name);
            return new String(cubin, 0, cubin.length - 1, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void aPtxImageIsStoredOnceAndRebuiltFromThePtx() throws IOException {
        Path folder = tmp.resolve("img");
        PtxImageBackend b = new PtxImageBackend();
        assertEquals(ptx("d64"), new ModuleCache<>(folder, "9.0", b, warnings::add).load(key("d64"), () -> ptx("d64")).module());
        Path e = entry(folder, "d64");
        assertTrue(Files.exists(e.resolve(ModuleCache.PTX)));
        assertTrue(!Files.exists(e.resolve(ModuleCache.CUBIN)), "the PTX image is not written a second time");
        EntryMetadata meta = EntryMetadata.parse(Files.readAllBytes(e.resolve(ModuleCache.META)));
        assertEquals(ptx("d64").length() + 1L, meta.cubinBytes());
        PtxImageBackend fresh = new PtxImageBackend();
        LoadedModule<String> m = new ModuleCache<>(folder, "9.0", fresh, warnings::add).load(key("d64"), () -> ptx("d64"));
        assertEquals(LoadedModule.Source.DISK, m.source());
        assertEquals(ptx("d64"), m.module());
        assertEquals(0, fresh.compiles.get());
        // an altered PTX fails its checksum: the entry is rebuilt
        flip(e.resolve(ModuleCache.PTX), 5);
        PtxImageBackend third = new PtxImageBackend();
        assertEquals(LoadedModule.Source.COMPILED,
                new ModuleCache<>(folder, "9.0", third, warnings::add).load(key("d64"), () -> ptx("d64")).source());
        assertEquals(1, third.compiles.get());
        assertTrue(warnings.stream().anyMatch(w -> w.contains("PTX checksum mismatch")), warnings.toString());
        // an entry of the earlier format (the image written as module.cubin too) still loads from disk
        Files.write(e.resolve(ModuleCache.CUBIN), ModuleCache.ptxImage(ptx("d64").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals(LoadedModule.Source.DISK,
                new ModuleCache<>(folder, "9.0", new PtxImageBackend(), warnings::add).load(key("d64"), () -> ptx("d64")).source());
    }

    @Test
    void aSecondCacheLoadsFromDiskWithoutCompiling() {
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        FakeBackend fresh = new FakeBackend("9.0");
        LoadedModule<String> m = load(cache(folder, fresh), "d128");
        assertEquals(LoadedModule.Source.DISK, m.source());
        assertEquals(ptx("d128"), m.module());
        assertEquals(0, fresh.compiles.get());
        assertEquals(0.0, m.compileMillis());
        assertEquals(12.5, m.metadata().compileMillis());
    }

    @Test
    void aChangedKeyIsAMiss() {
        Path folder = tmp.resolve("g");
        FakeBackend b = new FakeBackend("9.0");
        ModuleCache<String> c = cache(folder, b);
        load(c, "d128");
        ModuleKey otherTemplates = new ModuleKey("attention", "gen-1+0123", "tpl-hash-2", "d128", "9.0", 13000);
        ModuleKey otherDriver = new ModuleKey("attention", "gen-1+0123", "tpl-hash", "d128", "9.0", 13010);
        assertEquals(LoadedModule.Source.COMPILED, c.load(otherTemplates, () -> ptx("d128")).source());
        assertEquals(LoadedModule.Source.COMPILED, c.load(otherDriver, () -> ptx("d128")).source());
        assertEquals(3, b.compiles.get());
        assertEquals(LoadedModule.Source.DISK, c.load(otherDriver, () -> ptx("d128")).source());
        assertEquals(3, CacheIndex.read(folder).size());
    }

    @Test
    void aKeyForAnotherComputeCapabilityIsRefused() {
        ModuleCache<String> c = cache(tmp, new FakeBackend("9.0"));
        ModuleKey k89 = new ModuleKey("attention", "g", "t", "s", "8.9", 13000);
        assertThrows(IllegalArgumentException.class, () -> c.load(k89, () -> "x"));
    }

    @Test
    void truncatedCubinIsRebuiltAndReportedOnce() throws IOException {
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        Path cubin = entry(folder, "d128").resolve(ModuleCache.CUBIN);
        byte[] all = Files.readAllBytes(cubin);
        Files.write(cubin, java.util.Arrays.copyOf(all, all.length / 2));
        assertRebuilt(folder, "truncated");
        // corrupt the same entry again: it is rebuilt again, but not reported a second time
        Files.write(entry(folder, "d128").resolve(ModuleCache.CUBIN), new byte[3]);
        FakeBackend b = new FakeBackend("9.0");
        assertEquals(LoadedModule.Source.COMPILED, load(cache(folder, b), "d128").source());
        assertEquals(1, warnings.size(), warnings.toString());
    }

    @Test
    void flippedByteInTheCubinIsRebuilt() throws IOException {
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        flip(entry(folder, "d128").resolve(ModuleCache.CUBIN), 20);
        assertRebuilt(folder, "cubin checksum mismatch");
    }

    @Test
    void flippedByteInThePtxIsRebuilt() throws IOException {
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        flip(entry(folder, "d128").resolve(ModuleCache.PTX), 5);
        assertRebuilt(folder, "PTX checksum mismatch");
    }

    @Test
    void garbageMetadataIsRebuilt() throws IOException {
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        Files.write(entry(folder, "d128").resolve(ModuleCache.META), new byte[]{0, (byte) 0xff, '\\', 'u', '1', '\n', 1, 2});
        assertRebuilt(folder, "metadata");
    }

    @Test
    void metadataWithABadNumberIsRebuilt() throws IOException {
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        Path meta = entry(folder, "d128").resolve(ModuleCache.META);
        Files.writeString(meta, Files.readString(meta, StandardCharsets.ISO_8859_1).replaceFirst("cubin.bytes=\\d+", "cubin.bytes=12x"),
                StandardCharsets.ISO_8859_1);
        assertRebuilt(folder, "cubin.bytes is not a size");
    }

    @Test
    void missingCubinIsRebuilt() throws IOException {
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        Files.delete(entry(folder, "d128").resolve(ModuleCache.CUBIN));
        assertRebuilt(folder, "missing file");
    }

    @Test
    void anEntryOfAnotherComputeCapabilityIsForeign() throws IOException {
        // an sm_89 entry copied into the sm_90 folder under the sm_90 key's name
        Path f89 = tmp.resolve("g89");
        ModuleKey k89 = new ModuleKey("attention", "gen-1+0123", "tpl-hash", "d128", "8.9", 13000);
        new ModuleCache<>(f89, "8.9", new FakeBackend("8.9"), warnings::add).load(k89, () -> ptx("d128"));
        Path folder = tmp.resolve("g");
        Files.createDirectories(folder);
        copyTree(f89.resolve(k89.digest()), entry(folder, "d128"));
        assertRebuilt(folder, "folder name does not match");
    }

    @Test
    void aCubinTheDeviceRefusesIsRebuilt() throws IOException {
        // consistent metadata and checksums, but the cubin is for another GPU: only the load notices
        Path folder = tmp.resolve("g");
        load(cache(folder, new FakeBackend("9.0")), "d128");
        Path e = entry(folder, "d128");
        byte[] foreign = FakeBackend.cubinFor("8.9", ptx("d128"));
        Files.write(e.resolve(ModuleCache.CUBIN), foreign);
        Path meta = e.resolve(ModuleCache.META);
        String text = Files.readString(meta, StandardCharsets.ISO_8859_1)
                .replaceFirst("cubin.sha256=[0-9a-f]+", "cubin.sha256=" + Digests.sha256(foreign))
                .replaceFirst("cubin.bytes=\\d+", "cubin.bytes=" + foreign.length);
        Files.writeString(meta, text, StandardCharsets.ISO_8859_1);
        assertRebuilt(folder, "the device refused its cubin");
    }

    @Test
    void aWriterThatDiedMidwayLeavesNothingVisible() throws IOException {
        Path folder = tmp.resolve("kernels/sm_90-T");
        Files.createDirectories(folder);
        // what a writer killed before its rename leaves: a temporary folder with part of an entry
        Path dead = folder.resolve(".tmp-" + key("d128").digest() + "-999999-1-1");
        Files.createDirectories(dead);
        Files.writeString(dead.resolve(ModuleCache.PTX), "half");
        FakeBackend b = new FakeBackend("9.0");
        assertEquals(LoadedModule.Source.COMPILED, load(cache(folder, b), "d128").source());
        assertEquals(LoadedModule.Source.DISK, load(cache(folder, new FakeBackend("9.0")), "d128").source());
        assertEquals(1, listEntries(folder).size());
        // cache verify --repair removes it once it is old enough not to belong to a live writer
        Files.setLastModifiedTime(dead, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)));
        CacheContents.GpuFolder g = CacheContents.scan(tmp).get(0);
        assertEquals("sm_90-T", g.name());
        assertEquals(1, CacheContents.repair(g));
        assertTrue(!Files.exists(dead));
        assertEquals(LoadedModule.Source.DISK, load(cache(folder, new FakeBackend("9.0")), "d128").source());
    }

    @Test
    void compileErrorsPropagateAndPublishNothing() {
        Path folder = tmp.resolve("g");
        ModuleCache<String> c = cache(folder, new FakeBackend("9.0"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> c.load(key("bad"), () -> "SYNTAX ERROR"));
        assertTrue(e.getMessage().contains("syntax error"));
        assertTrue(!Files.exists(entry(folder, "bad")));
        assertNoTemporaries(folder);
    }

    @Test
    void anUnwritableFolderFallsBackToMemoryWithOneWarning() throws IOException {
        Path file = tmp.resolve("not-a-folder");
        Files.writeString(file, "x");
        FakeBackend b = new FakeBackend("9.0");
        ModuleCache<String> c = cache(file.resolve("kernels/gpu"), b);
        assertTrue(c.memoryOnlyReason() != null);
        assertEquals(LoadedModule.Source.COMPILED, load(c, "d128").source());
        assertEquals(LoadedModule.Source.MEMORY, load(c, "d128").source());
        assertEquals(LoadedModule.Source.COMPILED, load(c, "d64").source());
        assertEquals(2, b.compiles.get());
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("in memory"));
    }

    @Test
    void aFolderThatFailsOnWriteFallsBackToMemory() throws IOException {
        Path folder = tmp.resolve("g");
        FakeBackend b = new FakeBackend("9.0");
        ModuleCache<String> c = cache(folder, b);
        assertNull(c.memoryOnlyReason());
        Files.delete(folder);
        Files.writeString(folder, "the disk is full"); // every write below it now fails
        assertEquals(LoadedModule.Source.COMPILED, load(c, "d128").source());
        assertEquals(LoadedModule.Source.MEMORY, load(c, "d128").source());
        assertEquals(1, b.compiles.get());
        assertEquals(1, warnings.size(), warnings.toString());
    }

    @Test
    void threadsOfOneProcessCompileAKeyOnce() throws Exception {
        Path folder = tmp.resolve("g");
        FakeBackend b = new FakeBackend("9.0", 30);
        ModuleCache<String> c = cache(folder, b);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<LoadedModule<String>>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) fs.add(pool.submit(() -> load(c, "d128")));
            for (Future<LoadedModule<String>> f : fs) assertEquals(ptx("d128"), f.get().module());
        } finally {
            pool.shutdown();
        }
        assertEquals(1, b.compiles.get());
    }

    @Test
    void racingCachesOnOneFolderLeaveOneConsistentEntry() throws Exception {
        Path folder = tmp.resolve("g");
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                fs.add(pool.submit(() -> {
                    ModuleCache<String> c = cache(folder, new FakeBackend("9.0", 20));
                    for (int k = 0; k < 5; k++) assertEquals(ptx("s" + k), load(c, "s" + k).module());
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        } finally {
            pool.shutdown();
        }
        assertConsistent(folder, 5);
    }

    /** After a fault: the next load is a compile with one warning naming the reason; the one after is a disk hit. */
    void assertRebuilt(Path folder, String reason) {
        FakeBackend b = new FakeBackend("9.0");
        LoadedModule<String> m = load(cache(folder, b), "d128");
        assertEquals(LoadedModule.Source.COMPILED, m.source());
        assertEquals(ptx("d128"), m.module());
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains(reason), warnings.get(0));
        assertTrue(warnings.get(0).contains("rebuilding"), warnings.get(0));
        FakeBackend b2 = new FakeBackend("9.0");
        assertEquals(LoadedModule.Source.DISK, load(cache(folder, b2), "d128").source());
        assertEquals(0, b2.compiles.get());
        assertNoTemporaries(folder);
    }

    /** The folder holds exactly {@code keys} good entries, all indexed, and no temporaries. */
    static void assertConsistent(Path folder, int keys) throws IOException {
        assertNoTemporaries(folder);
        List<CacheContents.EntryStatus> entries = listEntries(folder);
        assertEquals(keys, entries.size(), entries.toString());
        assertTrue(entries.stream().allMatch(CacheContents.EntryStatus::ok), entries.toString());
        assertEquals(keys, CacheIndex.read(folder).size());
    }

    static List<CacheContents.EntryStatus> listEntries(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .map(p -> CacheContents.check("sm_90", p)).toList();
        }
    }

    static void assertNoTemporaries(Path folder) {
        if (!Files.isDirectory(folder)) return;
        try (Stream<Path> s = Files.list(folder)) {
            List<String> tmp = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp-")).toList();
            assertTrue(tmp.isEmpty(), "temporaries left: " + tmp);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void flip(Path file, int at) throws IOException {
        byte[] b = Files.readAllBytes(file);
        b[at] ^= 0x20;
        Files.write(file, b);
    }

    static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
    }
}
