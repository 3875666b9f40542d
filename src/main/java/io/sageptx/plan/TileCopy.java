package io.sageptx.plan;

/**
 * How the threads of a CTA copy a tile of {@code rows} x {@code rowBytes} from global to shared memory
 * in 16-byte chunks: thread {@code tid} copies chunk column {@code tid % chunksPerRow} of rows
 * {@code tid / chunksPerRow + pass * rowsPerPass} for every pass.
 *
 * @param rows          rows of the tile
 * @param rowBytes      bytes of one row (a multiple of 16)
 * @param smemRowBytes  row pitch in shared memory (rowBytes + 16 of padding, which spreads the eight
 *                      rows an ldmatrix reads over all banks)
 * @param threads       threads of the CTA
 */
public record TileCopy(int rows, int rowBytes, int smemRowBytes, int threads) {

    public TileCopy {
        if (rowBytes % 16 != 0) throw new IllegalArgumentException("rowBytes " + rowBytes + " is not a multiple of 16");
        int chunks = rowBytes / 16;
        if (threads % chunks != 0) {
            throw new IllegalArgumentException("threads " + threads + " not a multiple of chunks per row " + chunks);
        }
        if (rows % (threads / chunks) != 0) {
            throw new IllegalArgumentException("rows " + rows + " not a multiple of rows per pass " + threads / chunks);
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

    public int passes() {
        return rows / rowsPerPass();
    }

    public int smemBytes() {
        return rows * smemRowBytes;
    }
}
