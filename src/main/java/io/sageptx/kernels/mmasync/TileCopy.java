package io.sageptx.kernels.mmasync;

/**
 * How the threads of a CTA copy a tile of {@code rows} x {@code rowBytes} from global to shared memory
 * in 16-byte chunks: thread {@code tid} copies chunk column {@code tid % chunksPerRow} of rows
 * {@code tid / chunksPerRow + pass * rowsPerPass} for every pass.
 *
 * <p>When the chunks of a row do not divide the threads (head dims such as 48 or 160), only the first
 * {@link #activeThreads()} threads copy, and when the rows do not divide into whole passes the last pass
 * is partial: {@link #predicated()} says the copy needs a per-pass row predicate.
 *
 * @param rows          rows of the tile
 * @param rowBytes      bytes of one row (a multiple of 16)
 * @param smemRowBytes  row pitch in shared memory (rowBytes + 16 of padding, which spreads the eight
 *                      rows an ldmatrix reads over all banks)
 * @param threads       threads of the CTA
 */
public record TileCopy(int rows, int rowBytes, int smemRowBytes, int threads) {

    public TileCopy {
        if (rowBytes <= 0 || rowBytes % 16 != 0) {
            throw new IllegalArgumentException("rowBytes " + rowBytes + " is not a positive multiple of 16");
        }
        if (rows <= 0) throw new IllegalArgumentException("rows " + rows + " must be positive");
        if (threads < rowBytes / 16) {
            throw new IllegalArgumentException("threads " + threads + " fewer than the chunks per row " + rowBytes / 16);
        }
    }

    /** A tile with the project's shared-memory padding of one 16-byte chunk per row. */
    public static TileCopy padded(int rows, int rowBytes, int threads) {
        return new TileCopy(rows, rowBytes, rowBytes + 16, threads);
    }

    public int chunksPerRow() {
        return rowBytes / 16;
    }

    public int rowsPerPass() {
        return threads / chunksPerRow();
    }

    /** Threads that copy (the others idle): whole rows per pass. */
    public int activeThreads() {
        return rowsPerPass() * chunksPerRow();
    }

    /** Whether some threads copy nothing at all (the chunks of a row do not divide the threads). */
    public boolean idleThreads() {
        return activeThreads() != threads;
    }

    public int passes() {
        return (rows + rowsPerPass() - 1) / rowsPerPass();
    }

    /** Whether some thread copies nothing in some pass (idle threads or a partial last pass). */
    public boolean predicated() {
        return activeThreads() != threads || rows % rowsPerPass() != 0;
    }

    public int smemBytes() {
        return rows * smemRowBytes;
    }
}
