package io.sageptx.cache;

import java.util.Objects;
import java.util.Map;

/**
 * Everything that changes the binary of one cached module. Two renderings with equal keys give the
 * same PTX; the cache file name is the SHA-256 of {@link #text()}.
 *
 * @param family            what kind of module (e.g. {@code attention}, {@code preprocess}); free text
 * @param generator         generator version and a hash of the Java code that builds the model
 * @param templates         hash of the template resources' content
 * @param spec              the spec's text form (everything the rendering depends on)
 * @param computeCapability the device's exact compute capability, e.g. {@code 9.0}
 * @param driverVersion     the CUDA driver version (cuDriverGetVersion)
 */
public record ModuleKey(String family, String generator, String templates, String spec, String computeCapability,
                        int driverVersion) {

    /** Bump when the meaning of a cached module changes in a way no hash sees. */
    public static final String GENERATOR_VERSION = "sageptx-gen-1";

    public ModuleKey {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(generator, "generator");
        Objects.requireNonNull(templates, "templates");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(computeCapability, "computeCapability");
        for (String s : new String[]{family, generator, templates, spec, computeCapability}) {
            if (s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("ModuleKey fields must be single lines: '" + s + "'");
            }
        }
    }

    /** The canonical text hashed into {@link #digest()}. */
    public String text() {
        return "family=" + family + "\ngenerator=" + generator + "\ntemplates=" + templates + "\nspec=" + spec
                + "\ncc=" + computeCapability + "\ndriver=" + driverVersion + "\n";
    }

    /** SHA-256 of {@link #text()}: the entry's folder name. */
    public String digest() {
        return Digests.sha256(text());
    }

    void store(Map<String, String> p) {
        p.put("key.family", family);
        p.put("key.generator", generator);
        p.put("key.templates", templates);
        p.put("key.spec", spec);
        p.put("key.cc", computeCapability);
        p.put("key.driver", Integer.toString(driverVersion));
    }

    static ModuleKey load(Map<String, String> p) {
        return new ModuleKey(required(p, "key.family"), required(p, "key.generator"), required(p, "key.templates"),
                required(p, "key.spec"), required(p, "key.cc"), EntryMetadata.parseInt(p, "key.driver"));
    }

    static String required(Map<String, String> p, String name) {
        String v = p.get(name);
        if (v == null) {
            throw new CorruptEntryException("metadata has no " + name);
        }
        return v;
    }
}
