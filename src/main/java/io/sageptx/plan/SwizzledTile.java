package io.sageptx.plan;

/**
 * A tile in shared memory in the canonical K-major layout that wgmma reads through a descriptor: rows of
 * {@code rowBytes} (64 or 128) stored back to back, 16-byte chunk {@code c} of row {@code r} stored at
 * chunk {@code c ^ ((r >> shift) & mask)} (the 64- or 128-byte swizzle: address bits [4, 4+log2(chunks))
 * XOR bits [7, ...)). Eight rows form one swizzle atom; the tile starts on a 1024-byte boundary.
 * The copy plan is the one of {@link TileCopy}: thread {@code tid} copies chunk {@code tid % chunksPerRow}
 * of rows {@code tid / chunksPerRow + pass * rowsPerPass}.
 */
public record SwizzledTile(int rows, int rowBytes, int threads) {

    public SwizzledTile {
        if (rowBytes != 64 && rowBytes != 128) {
            throw new IllegalArgumentException("swizzled rows must be 64 or 128 bytes, not " + rowBytes);
        }
        int chunks = rowBytes / 16;
        if (threads % chunks != 0 || (threads / chunks) % 8 != 0 || rows % (threads / chunks) != 0) {
            throw new IllegalArgumentException(threads + " threads cannot copy " + rows + " rows of " + rowBytes
                    + " bytes in whole passes of a multiple of 8 rows");
        }
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

    public int bytes() {
        return rows * rowBytes;
    }

    /** Row bits that select the XOR: row >> shift (128-byte rows: row; 64-byte rows: row / 2). */
    public int shift() {
        return rowBytes == 128 ? 0 : 1;
    }

    public int mask() {
        return chunksPerRow() - 1;
    }

    /** Where chunk {@code chunk} of row {@code row} lies, in bytes from the tile start. */
    public int offset(int row, int chunk) {
        return row * rowBytes + ((chunk ^ ((row >> shift()) & mask())) * 16);
    }

    /** The descriptor's swizzle mode: 1 for 128-byte, 2 for 64-byte swizzling. */
    public int swizzleMode() {
        return rowBytes == 128 ? 1 : 2;
    }

    /** Stride byte offset: from one 8-row group of core matrices to the next. */
    public int strideByteOffset() {
        return 8 * rowBytes;
    }

    /** High word of the descriptor: stride byte offset >> 4 in bits 32-45, swizzle mode in bits 62-63. */
    public int descriptorHigh() {
        return (strideByteOffset() >> 4) | (swizzleMode() << 30);
    }

    /**
     * Low-word bits besides the address: the leading byte offset field, unused by swizzled K-major layouts
     * whose k-steps stay inside one swizzle row, set to 1 (16 bytes) as is customary.
     */
    public int descriptorLowBits() {
        return 1 << 16;
    }
}
