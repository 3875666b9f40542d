package io.sageptx.kernels.decode;

import io.sageptx.numerics.QuantKvLayout;

/**
 * The shared-memory slot of one 16-key tile of the quantized cache ({@link KvFormat#PAGED_QUANT}): the INT8
 * K rows (pitch {@link #kPitch}), the e4m3 V^T tile (D rows of 16 keys, contiguous) and the tile's 16 K scales;
 * and the size of one entry of the warp's ring of block statistics (normalized K mean, V channel scales, mean
 * scale: {@link QuantKvLayout#headStatBytes} bytes), which a warp copies once per chunk of up to four tiles of one
 * block rather than with every tile (a block of 64 tokens had them read four times, 0.8 of 5.5 GB at B=64, 32k).
 *
 * <p>The K rows are swizzled rather than padded (a 16-byte cp.async whose shared destination sits at another
 * offset within 128 bytes than its source asks L2 for 1.5x the sectors; {@link DecodePlan}): 16-byte chunk c
 * of row r sits at chunk {@code c ^ }{@link #rowXor}{@code (r)} of its row. The ldmatrix of the INT8 QK step
 * reads rows {@code 4(i/2) + i%2 + 2nt} (i < 8: bits 0, 2, 3 vary, bit 1 is nt), so the XOR takes those bits:
 * its eight rows land in distinct bank groups. {@link #swizzle} 3: pitch a multiple of 128 (D rounded up), XOR of
 * 3 bits; 2: D = 64, two rows per 128 bytes, XOR of 2 bits (bits 2, 3 of the row); 0: D = 32, padded to 48
 * (four rows per 128 bytes leave too few bank groups for any XOR).
 *
 * @param headDim      D
 * @param kPitch       bytes between INT8 K rows
 * @param swizzle      bits of the chunk index the row XOR changes (3, 2 or 0)
 * @param vOffset      where the V^T tile starts
 * @param kScaleOffset where the tile's 16 K scales start
 * @param slotBytes    the whole slot
 * @param statBytes    bytes of one block's statistics (kmean, vscale, meanScale and padding)
 * @param statStride   bytes between entries of the statistics ring (statBytes rounded up to 128)
 */
public record QuantTile(int headDim, int kPitch, int swizzle, int vOffset, int kScaleOffset, int slotBytes, int statBytes,
                        int statStride) {

    public static QuantTile of(int d) {
        int swizzle = d == 32 ? 0 : d == 64 ? 2 : 3;
        int kPitch = switch (swizzle) {
            case 0 -> d + 16;
            case 2 -> d;
            default -> DecodePlan.swizzledPitch(d);
        };
        int v = DecodeSpec.TILE_KEYS * kPitch;
        int ks = v + DecodeSpec.TILE_KEYS * d;
        int slot = DecodePlan.align(ks + 4 * DecodeSpec.TILE_KEYS);
        int stat = QuantKvLayout.headStatBytes(d);
        return new QuantTile(d, kPitch, swizzle, v, ks, slot, stat, DecodePlan.align(stat));
    }

    /** The XOR applied to the chunk index of K row {@code row}. */
    public int rowXor(int row) {
        return switch (swizzle) {
            case 3 -> (row & 1) | ((row >> 1) & 6);
            case 2 -> (row >> 2) & 3;
            default -> 0;
        };
    }
}
