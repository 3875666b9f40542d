package io.sageptx.kernels.attention;

/**
 * The lines every generated kernel starts with: title comment, PTX version and target, entry name,
 * the {@code .param} block (from the kernel's {@link io.sageptx.kernel.KernelAbi}) and the launch bounds.
 *
 * @param minBlocks the {@code .minnctapersm} hint, or null for none
 */
public record KernelHeader(String title, String name, String ptxVersion, String target, int threads, Integer minBlocks,
                           String params) {
}
