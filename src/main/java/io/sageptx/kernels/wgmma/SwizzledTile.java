package io.sageptx.kernels.wgmma;

import java.util.ArrayList;
import java.util.List;

/**
 * A tile in shared memory in the canonical K-major layout that wgmma reads through descriptors. A row of
 * {@code rowBytes} (a multiple of 32) is split into columns of 128, 64 and 32 bytes, widest first; each
 * column is stored with its own swizzle (128-, 64- or 32-byte: 16-byte chunk {@code c} of row {@code r}
 * at chunk {@code c ^ ((r >> shift) & mask)}, i.e. address bits [4, ...) XOR bits [7, ...)), its rows
 * back to back, eight rows per swizzle atom. Rows come in sub-tiles of 64 (one warpgroup's rows):
 * sub-tile, then column, then row. A single-column tile is therefore plain rows. Each 32-byte k-step of
 * a wgmma lies inside one column; its descriptor carries that column's swizzle mode and 8-row stride.
 *
 * <p>Copies go by groups of columns of one width. Thread {@code tid} copies chunk {@code tid % chunks} of
 * rows {@code tid / chunks + pass * rowsPerPass}; rows per pass are a multiple of 8 (one XOR per thread
 * serves every pass) and divide 64 or are a multiple of it (the sub-tile offset of a pass is a constant).
 */
public record SwizzledTile(int rows, int rowBytes, int threads) {

    /** Rows of one sub-tile: the 64 rows of a warpgroup's wgmma operand. */
    public static final int SUB_ROWS = 64;

    /** One column: its width, its first byte in a row, its offset inside a sub-tile. */
    public record Column(int width, int start, int base) {

        /** Row bits that select the XOR: row >> shift (128-byte rows: row; 64: row / 2; 32: row / 4). */
        public int shift() {
            return Integer.numberOfTrailingZeros(128 / width);
        }

        public int mask() {
            return width / 16 - 1;
        }

        /** The descriptor's swizzle mode: 1 for 128-byte, 2 for 64-byte, 3 for 32-byte swizzling. */
        public int swizzleMode() {
            return switch (width) {
                case 128 -> 1;
                case 64 -> 2;
                default -> 3;
            };
        }

        /** Stride byte offset: from one 8-row group of core matrices to the next. */
        public int strideByteOffset() {
            return 8 * width;
        }

        /** High word of the descriptor: stride byte offset >> 4 in bits 32-45, swizzle mode in bits 62-63. */
        public int descriptorHigh() {
            return (strideByteOffset() >> 4) | (swizzleMode() << 30);
        }
    }

    /** The columns of one width and how the threads copy them. */
    public record Group(int width, List<Column> columns, int rowsPerPass, int passes, boolean predicated) {

        public int chunksPerRow() {
            return width / 16;
        }

        public int shift() {
            return columns.get(0).shift();
        }

        public int mask() {
            return columns.get(0).mask();
        }
    }

    public SwizzledTile {
        if (rowBytes <= 0 || rowBytes % 32 != 0) {
            throw new IllegalArgumentException("swizzled rows must be a positive multiple of 32 bytes, not " + rowBytes);
        }
        if (threads != 128 && threads != 256) {
            throw new IllegalArgumentException("swizzled tiles are copied by 128 or 256 threads, not " + threads);
        }
        if (rows <= 0) throw new IllegalArgumentException("rows must be positive, not " + rows);
    }

    /** The columns of a row, widest first. */
    public List<Column> columns() {
        List<Column> out = new ArrayList<>();
        int start = 0;
        for (int w : new int[] {128, 64, 32}) {
            while (rowBytes - start >= w) {
                out.add(new Column(w, start, SUB_ROWS * start));
                start += w;
            }
        }
        return out;
    }

    /** The copy groups: columns of one width share a copy slot per thread. */
    public List<Group> groups() {
        List<Group> out = new ArrayList<>();
        for (int w : new int[] {128, 64, 32}) {
            List<Column> cols = columns().stream().filter(c -> c.width() == w).toList();
            if (cols.isEmpty()) continue;
            int rowsPerPass = threads / (w / 16);
            int passes = (rows + rowsPerPass - 1) / rowsPerPass;
            out.add(new Group(w, cols, rowsPerPass, passes, rows % rowsPerPass != 0));
        }
        return out;
    }

    /** Bytes of one 64-row sub-tile. */
    public int subTileBytes() {
        return SUB_ROWS * rowBytes;
    }

    /** Bytes of the tile (whole sub-tiles). */
    public int bytes() {
        return (rows + SUB_ROWS - 1) / SUB_ROWS * subTileBytes();
    }

    /** The column that holds byte {@code byteInRow} of a row. */
    public Column columnOf(int byteInRow) {
        for (Column c : columns()) {
            if (byteInRow >= c.start() && byteInRow < c.start() + c.width()) return c;
        }
        throw new IllegalArgumentException("byte " + byteInRow + " is outside rows of " + rowBytes + " bytes");
    }

    /** Where byte {@code byteInRow} (a multiple of 16) of row {@code row} lies, in bytes from the tile start. */
    public int offset(int row, int byteInRow) {
        Column c = columnOf(byteInRow);
        int chunk = (byteInRow - c.start()) / 16;
        return row / SUB_ROWS * subTileBytes() + c.base() + row % SUB_ROWS * c.width()
                + ((chunk ^ ((row >> c.shift()) & c.mask())) * 16);
    }

    /** Offset of a pass's first row (rows per pass divide 64 or are a multiple of it), relative to row 0. */
    public int passOffset(Group g, int pass) {
        int r = pass * g.rowsPerPass();
        return r / SUB_ROWS * subTileBytes() + r % SUB_ROWS * g.width();
    }

    /**
     * Low-word bits besides the address: the leading byte offset field, unused by swizzled K-major layouts
     * whose k-steps stay inside one column, set to 1 (16 bytes) as is customary.
     */
    public int descriptorLowBits() {
        return 1 << 16;
    }
}
