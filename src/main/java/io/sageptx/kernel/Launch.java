package io.sageptx.kernel;

/**
 * The launch geometry of one kernel call: grid, threads per CTA (1-D blocks) and dynamic shared memory.
 */
public record Launch(int gridX, int gridY, int gridZ, int threads, int sharedBytes) {
    public Launch {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || threads < 1 || sharedBytes < 0) {
            throw new IllegalArgumentException("launch grid (" + gridX + "," + gridY + "," + gridZ + "), " + threads
                    + " threads, " + sharedBytes + " B shared memory: grid and threads must be >= 1");
        }
    }
}
