package io.sageptx.kernel;

/**
 * The launch geometry of one kernel call: grid, threads per CTA (1-D blocks) and dynamic shared memory.
 *
 * @param gridX       CTAs along x
 * @param gridY       CTAs along y
 * @param gridZ       CTAs along z
 * @param threads     threads per CTA (1-D)
 * @param sharedBytes dynamic shared memory per CTA in bytes
 */
public record Launch(int gridX, int gridY, int gridZ, int threads, int sharedBytes) {
    public Launch {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || threads < 1 || sharedBytes < 0) {
            throw new IllegalArgumentException("launch grid (" + gridX + "," + gridY + "," + gridZ + "), " + threads
                    + " threads, " + sharedBytes + " B shared memory: grid and threads must be >= 1");
        }
    }
}
