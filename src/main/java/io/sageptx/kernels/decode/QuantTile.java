package io.sageptx.kernels.decode;

import io.sageptx.numerics.QuantKvLayout;

/**
 * The shared-memory slot of one 16-key tile of the quantized cache ({@link KvFormat#PAGED_QUANT}): the INT8
 * K rows (pitch {@link #kPitch}), the e4m3 V^T tile (D rows of 16 keys, contiguous), the block's statistics
 * (normalized K mean, V channel scales, mean scale) and the tile's 16 K scales, in that order.
 *
 * @param headDim   D
 * @param kPitch    bytes between INT8 K rows: D + 16 or D + 32, an odd multiple of 16 (no ldmatrix bank conflicts)
 * @param vOffset   where the V^T tile starts
 * @param statOffset where the block's statistics start ({@link QuantKvLayout#statBytes} minus the K scales)
 * @param kScaleOffset where the tile's 16 K scales start
 * @param slotBytes the whole slot
 */
public record QuantTile(int headDim, int kPitch, int vOffset, int statOffset, int kScaleOffset, int slotBytes) {

    public static QuantTile of(int d) {
        int kPitch = d + ((d / 16) % 2 == 0 ? 16 : 32);
        int v = DecodeSpec.TILE_KEYS * kPitch;
        int stat = v + DecodeSpec.TILE_KEYS * d;
        int ks = stat + QuantKvLayout.headStatBytes(d);
        int slot = DecodePlan.align(ks + 4 * DecodeSpec.TILE_KEYS);
        return new QuantTile(d, kPitch, v, stat, ks, slot);
    }
}
