package io.sageptx.cache;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the compiler reported for one entry function of a module.
 *
 * @param name        the entry's name
 * @param registers   registers per thread
 * @param spillStores bytes of spill stores
 * @param spillLoads  bytes of spill loads
 * @param stackFrame  bytes of stack frame (local memory per thread)
 * @param sharedBytes bytes of static shared memory
 */
public record KernelStats(String name, int registers, int spillStores, int spillLoads, int stackFrame,
                          int sharedBytes) {

    private static final Pattern COMPILING = Pattern.compile("Compiling entry function '([^']+)'");
    private static final Pattern PROPERTIES = Pattern.compile("Function properties for (\\S+)");
    private static final Pattern FRAME = Pattern.compile(
            "(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern USED = Pattern.compile("Used (\\d+) registers");
    private static final Pattern SMEM = Pattern.compile("(\\d+) bytes smem");

    /** Local memory traffic: spills or a stack frame. */
    public boolean spills() {
        return spillStores > 0 || spillLoads > 0 || stackFrame > 0;
    }

    /**
     * Parses a ptxas-style verbose log (the driver JIT's info log has the same lines): per entry,
     * {@code Compiling entry function 'X'}, {@code Function properties for X}, the stack/spill line and
     * {@code Used N registers, ... M bytes smem}. Entries without a registers line are left out.
     */
    public static List<KernelStats> parseLog(String log) {
        Map<String, int[]> byName = new LinkedHashMap<>();
        String current = null;
        for (String line : log.split("\n")) {
            Matcher m = COMPILING.matcher(line);
            if (m.find()) {
                current = m.group(1);
                byName.computeIfAbsent(current, k -> new int[]{-1, 0, 0, 0, 0});
                continue;
            }
            m = PROPERTIES.matcher(line);
            if (m.find()) {
                current = m.group(1);
                byName.computeIfAbsent(current, k -> new int[]{-1, 0, 0, 0, 0});
                continue;
            }
            if (current == null) {
                continue;
            }
            int[] v = byName.get(current);
            m = FRAME.matcher(line);
            if (m.find()) {
                v[3] = Integer.parseInt(m.group(1));
                v[1] = Integer.parseInt(m.group(2));
                v[2] = Integer.parseInt(m.group(3));
            }
            m = USED.matcher(line);
            if (m.find()) {
                v[0] = Integer.parseInt(m.group(1));
                Matcher s = SMEM.matcher(line);
                v[4] = s.find() ? Integer.parseInt(s.group(1)) : 0;
            }
        }
        List<KernelStats> out = new ArrayList<>();
        byName.forEach((n, v) -> {
            if (v[0] >= 0) out.add(new KernelStats(n, v[0], v[1], v[2], v[3], v[4]));
        });
        return out;
    }

    /** One-line form stored in the metadata: {@code regs,spillStores,spillLoads,stack,smem}. */
    String encode() {
        return registers + "," + spillStores + "," + spillLoads + "," + stackFrame + "," + sharedBytes;
    }

    static KernelStats decode(String name, String text) {
        String[] f = text.split(",");
        if (f.length != 5) {
            throw new CorruptEntryException("kernel stats of " + name + " are not 5 numbers: '" + text + "'");
        }
        try {
            return new KernelStats(name, Integer.parseInt(f[0].trim()), Integer.parseInt(f[1].trim()),
                    Integer.parseInt(f[2].trim()), Integer.parseInt(f[3].trim()), Integer.parseInt(f[4].trim()));
        } catch (NumberFormatException e) {
            throw new CorruptEntryException("kernel stats of " + name + " are not numbers: '" + text + "'");
        }
    }
}
