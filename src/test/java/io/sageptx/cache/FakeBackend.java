package io.sageptx.cache;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link CubinBackend} without a GPU: the "cubin" is {@code CUBIN <cc>\n<sha256 of the PTX>\n<PTX>},
 * and loading refuses a cubin made for another compute capability, as the driver does. The log
 * imitates ptxas's verbose lines for one entry {@code k}.
 */
public final class FakeBackend implements CubinBackend<String> {
    final String cc;
    final AtomicInteger compiles = new AtomicInteger();
    final AtomicInteger loads = new AtomicInteger();
    private final long compileSleepMs;

    public FakeBackend(String cc, long compileSleepMs) {
        this.cc = cc;
        this.compileSleepMs = compileSleepMs;
    }

    public FakeBackend(String cc) {
        this(cc, 0);
    }

    public static byte[] cubinFor(String cc, String ptx) {
        return ("CUBIN " + cc + "\n" + Digests.sha256(ptx) + "\n" + ptx).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Compiled compile(String ptx, String name) {
        compiles.incrementAndGet();
        if (ptx.contains("SYNTAX ERROR")) {
            throw new IllegalStateException("ptxas fatal: syntax error in " + name);
        }
        if (compileSleepMs > 0) {
            try {
                Thread.sleep(compileSleepMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        String log = "ptxas info    : Compiling entry function 'k' for 'sm_" + cc.replace(".", "") + "'\n"
                + "ptxas info    : Function properties for k\n"
                + "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
                + "ptxas info    : Used 96 registers, 1024 bytes smem, 400 bytes cmem[0]\n";
        return new Compiled(cubinFor(cc, ptx), log, 12.5);
    }

    @Override
    public String load(byte[] cubin, String name) {
        loads.incrementAndGet();
        String text = new String(cubin, StandardCharsets.UTF_8);
        if (!text.startsWith("CUBIN " + cc + "\n")) {
            throw new IllegalStateException("CUDA_ERROR_NO_BINARY_FOR_GPU: cubin of " + name + " is not for " + cc);
        }
        String[] parts = text.split("\n", 3);
        if (parts.length < 3 || !Digests.sha256(parts[2]).equals(parts[1])) {
            throw new IllegalStateException("CUDA_ERROR_INVALID_IMAGE: " + name);
        }
        return parts[2];
    }
}
