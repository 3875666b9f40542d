package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.spec.DType;

/** Reading the caller's tensors: raw little-endian 16-bit files and NumPy .npy (v1, v2), sizes checked exactly. */
public class TensorFileTest {

    @TempDir
    Path tmp;

    static byte[] le(short[] v, ByteOrder order) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(order);
        for (short s : v) b.putShort(s);
        return b.array();
    }

    /** A .npy file as numpy writes it: magic, version, header length, the dict padded with spaces to 64 bytes, '\n'. */
    public static byte[] npy(int major, String descr, String shape, boolean fortran, byte[] data) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" + shape + "), }";
        int pre = major == 1 ? 10 : 12;
        int total = pre + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        int n = header.length();
        if (major == 1) out.writeBytes(new byte[] {(byte) n, (byte) (n >> 8)});
        else out.writeBytes(new byte[] {(byte) n, (byte) (n >> 8), (byte) (n >> 16), (byte) (n >> 24)});
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    static short[] values(int n) {
        short[] v = new short[n];
        for (int i = 0; i < n; i++) v[i] = (short) (i * 7919 + 3);
        return v;
    }

    @Test
    void rawFilesAreLittleEndianAndCheckedToTheByte() throws Exception {
        short[] v = values(2 * 3 * 4 * 32);
        Path f = tmp.resolve("q.bin");
        Files.write(f, le(v, ByteOrder.LITTLE_ENDIAN));
        TensorFile t = TensorFile.open(f);
        assertFalse(t.npy());
        assertNull(t.dtype());
        assertNull(t.shape());
        assertArrayEquals(v, t.read(v.length, "Q"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.read(v.length + 32, "Q [B=1, H=8]"));
        assertTrue(e.getMessage().startsWith(f + ": " + 2 * v.length + " bytes, expected " + 2 * (v.length + 32) + " (Q [B=1, H=8]"),
                e.getMessage());
        Path odd = tmp.resolve("odd.bin");
        Files.write(odd, new byte[7]);
        IllegalArgumentException o = assertThrows(IllegalArgumentException.class, () -> TensorFile.open(odd).checkSize(4, "K"));
        assertTrue(o.getMessage().contains("7 bytes, expected 8") && o.getMessage().contains("odd size"), o.getMessage());
    }

    @Test
    void npyV1AndV2GiveShapeAndDtype() throws Exception {
        short[] v = values(1 * 2 * 5 * 32);
        for (int major : new int[] {1, 2, 3}) {
            Path f = tmp.resolve("q" + major + ".npy");
            Files.write(f, npy(major, "<f2", "1, 2, 5, 32", false, le(v, ByteOrder.LITTLE_ENDIAN)));
            TensorFile t = TensorFile.open(f);
            assertTrue(t.npy());
            assertEquals(DType.FP16, t.dtype());
            assertArrayEquals(new long[] {1, 2, 5, 32}, t.shape());
            assertEquals("(1, 2, 5, 32)", t.shapeText());
            assertEquals(0, t.dataOffset() % 64, "numpy pads the header to 64 bytes");
            assertArrayEquals(v, t.read(v.length, "Q"));
        }
        // bf16 saved as t.view(torch.int16): no dtype of its own
        Path bf = tmp.resolve("k.npy");
        Files.write(bf, npy(1, "<i2", "2, 5, 32", false, le(v, ByteOrder.LITTLE_ENDIAN)));
        TensorFile t = TensorFile.open(bf);
        assertNull(t.dtype());
        assertArrayEquals(v, t.read(v.length, "K"));
        // big-endian data is swapped
        Path be = tmp.resolve("be.npy");
        Files.write(be, npy(1, ">f2", "320,", false, le(v, ByteOrder.BIG_ENDIAN)));
        assertArrayEquals(v, TensorFile.open(be).read(v.length, "V"));
        assertArrayEquals(new long[] {320}, TensorFile.open(be).shape());
    }

    @Test
    void npyRefusals() throws Exception {
        byte[] data = le(values(64), ByteOrder.LITTLE_ENDIAN);
        Path f32 = tmp.resolve("f32.npy");
        Files.write(f32, npy(1, "<f4", "32,", false, data));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorFile.open(f32));
        assertTrue(e.getMessage().startsWith(f32 + ": not a readable .npy file: dtype '<f4' is not a 16-bit type"), e.getMessage());
        Path fo = tmp.resolve("fortran.npy");
        Files.write(fo, npy(1, "<f2", "8, 8", true, data));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TensorFile.open(fo)).getMessage().contains("Fortran-ordered"));
        Path shape = tmp.resolve("shape.npy");
        Files.write(shape, npy(1, "<f2", "4, 16", false, data));
        IllegalArgumentException s = assertThrows(IllegalArgumentException.class, () -> TensorFile.open(shape).read(128, "Q [B=1]"));
        assertTrue(s.getMessage().startsWith(shape + ": shape (4, 16) has 64 elements, expected 128 (Q [B=1])"), s.getMessage());
        Path cut = tmp.resolve("cut.npy");
        byte[] full = npy(1, "<f2", "64,", false, data);
        Files.write(cut, java.util.Arrays.copyOf(full, full.length - 2));
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> TensorFile.open(cut).read(64, "Q"));
        assertTrue(c.getMessage().contains("126 bytes of data after the header, expected 128"), c.getMessage());
        Path fake = tmp.resolve("fake.npy");
        Files.write(fake, data);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TensorFile.open(fake)).getMessage().contains("no NumPy header"));
    }
}
