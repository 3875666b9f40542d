package io.sageptx.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.sageptx.spec.DType;

/**
 * A tensor of 16-bit values in a file, as {@code sageptx verify} reads the caller's Q, K and V
 * (docs/verify-files.md): either raw little-endian fp16 or bf16 values with no header (the shape and dtype are
 * given by the caller), or a NumPy {@code .npy} file (format version 1, 2 or 3, C order) of a 2-byte dtype:
 * {@code <f2} is fp16; {@code <i2}, {@code <u2} or {@code V2} are 16-bit patterns whose type the caller names
 * (bf16 has no NumPy dtype: {@code np.save(f, t.view(torch.int16).cpu().numpy())}). Big-endian {@code .npy}
 * data is byte-swapped on reading.
 *
 * <p>{@link #open} reads only the header; {@link #read} checks the element count against what the caller
 * expects (before any GPU work) and reads the values.
 *
 * @param path       the file
 * @param npy        whether it is a {@code .npy} file (else raw values)
 * @param dtype      the dtype the file says ({@code .npy} {@code <f2}: fp16), or null when it does not say
 *                   (raw files, 16-bit integer or void dtypes)
 * @param shape      the {@code .npy} shape, or null for a raw file
 * @param dataOffset where the values start (0 for raw, the header length for {@code .npy})
 * @param dataBytes  bytes after {@code dataOffset}
 * @param bigEndian  whether the values are big-endian ({@code .npy} {@code >f2} and the like)
 */
public record TensorFile(Path path, boolean npy, DType dtype, long[] shape, long dataOffset, long dataBytes,
                         boolean bigEndian) {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /**
     * Opens {@code path} and reads its header: a file that starts with the NumPy magic is a {@code .npy} file,
     * any other is raw 16-bit values. Refused with an {@link IllegalArgumentException} naming the file when the
     * {@code .npy} header is malformed, Fortran-ordered, or of a dtype that is not 2 bytes.
     *
     * @param path the file
     * @return its description
     * @throws IOException when the file cannot be read
     */
    public static TensorFile open(Path path) throws IOException {
        long size = Files.size(path);
        byte[] head = new byte[(int) Math.min(size, 12)];
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.read(ByteBuffer.wrap(head));
            if (head.length < MAGIC.length || !Arrays.equals(Arrays.copyOf(head, MAGIC.length), MAGIC)) {
                if (path.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".npy")) {
                    throw new IllegalArgumentException(path + ": named .npy but has no NumPy header (magic \\x93NUMPY)");
                }
                return new TensorFile(path, false, null, null, 0, size, false);
            }
            if (head.length < 10) throw bad(path, "the header is cut short");
            int major = head[6] & 0xFF;
            int headerLen;
            int start;
            if (major == 1) {
                headerLen = (head[8] & 0xFF) | (head[9] & 0xFF) << 8;
                start = 10;
            } else if (major == 2 || major == 3) {
                if (head.length < 12) throw bad(path, "the header is cut short");
                long n = (head[8] & 0xFFL) | (head[9] & 0xFFL) << 8 | (head[10] & 0xFFL) << 16 | (head[11] & 0xFFL) << 24;
                if (n > 1 << 24) throw bad(path, "header length " + n + " is not plausible");
                headerLen = (int) n;
                start = 12;
            } else {
                throw bad(path, "format version " + major + " is not supported (1, 2 or 3)");
            }
            if (start + (long) headerLen > size) throw bad(path, "the header is cut short");
            ByteBuffer hb = ByteBuffer.allocate(headerLen);
            ch.position(start);
            while (hb.hasRemaining() && ch.read(hb) > 0) {
                // read the whole header
            }
            String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            return parseHeader(path, header, start + headerLen, size - start - headerLen);
        }
    }

    /** Parses the dictionary of a {@code .npy} header (package-private for tests). */
    static TensorFile parseHeader(Path path, String header, long dataOffset, long dataBytes) {
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) throw bad(path, "the header has no descr, fortran_order or shape: " + header.strip());
        if (f.group(1).equals("True")) {
            throw bad(path, "is Fortran-ordered; save a C-ordered array (np.ascontiguousarray)");
        }
        String descr = d.group(1);
        char order = descr.isEmpty() ? '?' : descr.charAt(0);
        String kind = order == '<' || order == '>' || order == '|' || order == '=' ? descr.substring(1) : descr;
        DType dtype;
        switch (kind) {
            case "f2", "e" -> dtype = DType.FP16;
            case "i2", "u2", "V2", "h", "H" -> dtype = null;
            default -> throw bad(path, "dtype '" + descr + "' is not a 16-bit type; allowed: float16 ('<f2'), or int16 / "
                    + "uint16 / void16 holding fp16 or bf16 bit patterns (give the dtype); bfloat16: save "
                    + "t.view(torch.int16)");
        }
        boolean big = order == '>';
        String[] dims = s.group(1).split(",");
        long[] shape = Arrays.stream(dims).map(String::trim).filter(x -> !x.isEmpty()).mapToLong(x -> {
            try {
                return Long.parseLong(x.replace("L", ""));
            } catch (NumberFormatException e) {
                throw bad(path, "shape (" + s.group(1) + ") is not a tuple of integers");
            }
        }).toArray();
        return new TensorFile(path, true, dtype, shape, dataOffset, dataBytes, big);
    }

    private static IllegalArgumentException bad(Path path, String why) {
        return new IllegalArgumentException(path + ": not a readable .npy file: " + why);
    }

    /** The element count the file holds: the product of the {@code .npy} shape, or the raw bytes / 2. */
    public long elements() {
        if (!npy) return dataBytes / 2;
        long n = 1;
        for (long x : shape) n *= x;
        return n;
    }

    /** The shape as text, like {@code (1, 8, 512, 128)}; {@code raw} for a raw file. */
    public String shapeText() {
        if (!npy) return "raw";
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) b.append(i == 0 ? "" : ", ").append(shape[i]);
        return b.append(")").toString();
    }

    /**
     * Checks that the file holds exactly {@code expected} 16-bit values and reads them. Refused with an
     * {@link IllegalArgumentException} naming the file, the expected and the actual size (bytes for raw files,
     * elements and shape for {@code .npy}) and {@code what} (the caller's description of the expected tensor).
     *
     * @param expected the element count the shape needs
     * @param what     the expected tensor in words, such as {@code Q [B=1, H=8, Lq=512, D=128] (BHLD)}
     * @return the values as 16-bit patterns, in file order
     * @throws IOException when the file cannot be read
     */
    public short[] read(long expected, String what) throws IOException {
        checkSize(expected, what);
        if (expected > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(path + ": " + expected + " elements is more than a Java array holds (2^31 - 1)");
        }
        short[] out = new short[(int) expected];
        ByteBuffer buf = ByteBuffer.allocate(1 << 22).order(bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.position(dataOffset);
            int at = 0;
            while (at < out.length) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), 2L * (out.length - at)));
                while (buf.hasRemaining()) {
                    if (ch.read(buf) < 0) throw new IOException(path + ": ended early (changed while being read?)");
                }
                buf.flip();
                int n = buf.remaining() / 2;
                buf.asShortBuffer().get(out, at, n);
                at += n;
            }
        }
        return out;
    }

    /**
     * The size check of {@link #read} alone.
     *
     * @param expected the element count the shape needs
     * @param what     the expected tensor in words
     */
    public void checkSize(long expected, String what) {
        if (!npy) {
            if (dataBytes != 2 * expected) {
                throw new IllegalArgumentException(path + ": " + dataBytes + " bytes, expected " + 2 * expected + " (" + what
                        + ": " + expected + " values of 2 bytes)" + (dataBytes % 2 != 0 ? "; an odd size is not 16-bit data" : ""));
            }
            return;
        }
        if (elements() != expected) {
            throw new IllegalArgumentException(path + ": shape " + shapeText() + " has " + elements() + " elements, expected "
                    + expected + " (" + what + ")");
        }
        if (dataBytes != 2 * expected) {
            throw new IllegalArgumentException(path + ": " + dataBytes + " bytes of data after the header, expected "
                    + 2 * expected + " (shape " + shapeText() + " of 2-byte values)");
        }
    }
}
