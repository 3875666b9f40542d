package io.sageptx.cache;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The metadata file of one cache entry ({@code meta.properties}): the full key, checksums and sizes of
 * the PTX and the cubin, the compile time and what the compiler reported per kernel.
 *
 * @param key          the key the entry was built for
 * @param ptxSha256    SHA-256 of the PTX file
 * @param ptxBytes     size of the PTX file
 * @param cubinSha256  SHA-256 of the cubin file
 * @param cubinBytes   size of the cubin file
 * @param compileMillis time the driver took to compile the PTX into the cubin
 * @param created      when the entry was written (ISO-8601)
 * @param kernels      registers, spills and shared memory per entry function
 */
public record EntryMetadata(ModuleKey key, String ptxSha256, long ptxBytes, String cubinSha256, long cubinBytes,
                            double compileMillis, String created, List<KernelStats> kernels) {

    static final String FORMAT = "sageptx-cache-entry-1";

    public EntryMetadata {
        Objects.requireNonNull(key, "key");
        kernels = List.copyOf(kernels);
    }

    /** The properties text (sorted, no timestamp comment: the same metadata gives the same bytes). */
    public byte[] toBytes() {
        Map<String, String> p = new TreeMap<>();
        p.put("format", FORMAT);
        key.store(p);
        p.put("ptx.sha256", ptxSha256);
        p.put("ptx.bytes", Long.toString(ptxBytes));
        p.put("cubin.sha256", cubinSha256);
        p.put("cubin.bytes", Long.toString(cubinBytes));
        p.put("compile.ms", String.format(Locale.ROOT, "%.3f", compileMillis));
        p.put("created", created);
        StringBuilder names = new StringBuilder();
        for (KernelStats k : kernels) {
            if (!k.name().matches("[A-Za-z0-9_$.]+")) continue;
            names.append(names.length() == 0 ? "" : ",").append(k.name());
            p.put("kernel." + k.name(), k.encode());
        }
        p.put("kernels", names.toString());
        return PropertiesText.format("SagePTX kernel cache entry; kernel.X = registers,spillStores,spillLoads,stack,smem", p);
    }

    /** Parses a metadata file; anything missing or malformed is a {@link CorruptEntryException}. */
    public static EntryMetadata parse(byte[] bytes) {
        Map<String, String> p;
        try {
            p = PropertiesText.parse(bytes);
        } catch (IllegalArgumentException e) {
            throw new CorruptEntryException("metadata is not a properties file: " + e.getMessage());
        }
        if (!FORMAT.equals(p.get("format"))) {
            throw new CorruptEntryException("metadata format is '" + p.get("format") + "', expected " + FORMAT);
        }
        ModuleKey key;
        try {
            key = ModuleKey.load(p);
        } catch (IllegalArgumentException e) {
            throw new CorruptEntryException("metadata key is malformed: " + e.getMessage());
        }
        List<KernelStats> kernels = new ArrayList<>();
        String names = ModuleKey.required(p, "kernels");
        if (!names.isEmpty()) {
            for (String n : names.split(",")) {
                kernels.add(KernelStats.decode(n, ModuleKey.required(p, "kernel." + n)));
            }
        }
        double compile;
        try {
            compile = Double.parseDouble(ModuleKey.required(p, "compile.ms"));
        } catch (NumberFormatException e) {
            throw new CorruptEntryException("compile.ms is not a number");
        }
        return new EntryMetadata(key, sha(p, "ptx.sha256"), parseLong(p, "ptx.bytes"), sha(p, "cubin.sha256"),
                parseLong(p, "cubin.bytes"), compile, ModuleKey.required(p, "created"), kernels);
    }

    private static String sha(Map<String, String> p, String name) {
        String v = ModuleKey.required(p, name);
        if (!v.matches("[0-9a-f]{64}")) {
            throw new CorruptEntryException(name + " is not a SHA-256: '" + v + "'");
        }
        return v;
    }

    static int parseInt(Map<String, String> p, String name) {
        try {
            return Integer.parseInt(ModuleKey.required(p, name).trim());
        } catch (NumberFormatException e) {
            throw new CorruptEntryException(name + " is not a number: '" + p.get(name) + "'");
        }
    }

    static long parseLong(Map<String, String> p, String name) {
        try {
            long v = Long.parseLong(ModuleKey.required(p, name).trim());
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new CorruptEntryException(name + " is not a size: '" + p.get(name) + "'");
        }
    }

    /** The largest register count over the kernels (0 when none was reported). */
    public int maxRegisters() {
        return kernels.stream().mapToInt(KernelStats::registers).max().orElse(0);
    }

    /** Whether any kernel spills or uses a stack frame. */
    public boolean anySpills() {
        return kernels.stream().anyMatch(KernelStats::spills);
    }
}
