package io.sageptx.cuda;

import java.lang.reflect.Field;
import java.util.Locale;

import jcuda.NativePointerObject;
import jcuda.driver.CUcontext;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * Raw CUDA handles as frameworks hand them out ({@code long} values of {@code CUstream} and
 * {@code CUcontext}: PyTorch's {@code torch.cuda.current_stream().cuda_stream} through JavaCPP, DJL,
 * ONNX Runtime, a JNI binding) turned into JCuda objects, and back.
 *
 * <p>JCuda keeps the handle in the private field {@code nativePointer} of {@link NativePointerObject}
 * and offers no public constructor from a number, so this class sets and reads that field by
 * reflection. That works whenever JCuda is on the class path or is an automatic module (both open
 * their packages); should a JCuda release ever close it, every method here throws an
 * {@link IllegalStateException} that says so, instead of failing somewhere later.
 *
 * <p>Special stream handles: {@value #LEGACY_DEFAULT_STREAM} (the legacy default stream of the current
 * context, what JCuda's {@code new CUstream()} and a {@code null} stream mean), {@value #CU_STREAM_LEGACY}
 * ({@code CU_STREAM_LEGACY}, the same stream named explicitly) and {@value #PER_THREAD_DEFAULT_STREAM}
 * ({@code CU_STREAM_PER_THREAD}, the calling thread's default stream).
 */
public final class CudaHandles {

    /** The legacy default (null) stream. */
    public static final long LEGACY_DEFAULT_STREAM = 0L;
    /** {@code CU_STREAM_LEGACY}: the legacy default stream, named explicitly. */
    public static final long CU_STREAM_LEGACY = 1L;
    /** {@code CU_STREAM_PER_THREAD}: the per-thread default stream of the calling thread. */
    public static final long PER_THREAD_DEFAULT_STREAM = 2L;

    private static final Field NATIVE_POINTER;
    private static final String UNAVAILABLE;

    static {
        Field f = null;
        String why = null;
        try {
            f = NativePointerObject.class.getDeclaredField("nativePointer");
            if (f.getType() != long.class) throw new NoSuchFieldException("nativePointer is a " + f.getType() + ", not a long");
            f.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            f = null;
            why = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        NATIVE_POINTER = f;
        UNAVAILABLE = why;
    }

    private CudaHandles() {
    }

    /** Whether raw handles can be converted in this JVM (the reflective access to JCuda worked). */
    public static boolean available() {
        return NATIVE_POINTER != null;
    }

    /**
     * A JCuda stream of a raw {@code CUstream} handle, unchecked (see {@link #stream(DeviceContext, long)}
     * for the checked form). The object does not own the stream: nothing here ever destroys it.
     *
     * @param handle the {@code CUstream} value; 0, 1 and 2 are the special streams of this class
     * @return a {@code CUstream} whose native value is {@code handle}
     * @throws IllegalStateException when JCuda's handle field cannot be written in this JVM
     */
    public static CUstream stream(long handle) {
        return set(new CUstream(), handle);
    }

    /**
     * A JCuda stream of a raw {@code CUstream} handle, checked against {@code ctx}: a special stream
     * (0, 1, 2) is accepted as it is; any other handle must be a stream of {@code ctx}'s primary context
     * ({@code cuStreamGetCtx}), else the call would fail at its first launch with a driver error that
     * does not name the stream.
     *
     * @param ctx    the device the stream's work will run on
     * @param handle the {@code CUstream} value
     * @return a {@code CUstream} whose native value is {@code handle}
     * @throws IllegalArgumentException when the handle is not a stream, or is a stream of another context
     */
    public static CUstream stream(DeviceContext ctx, long handle) {
        CUstream s = stream(handle);
        if (isSpecialStream(handle)) return s;
        CUcontext owner = new CUcontext();
        int r = JCudaDriver.cuStreamGetCtx(s, owner);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new IllegalArgumentException("stream " + hex(handle) + " is not a CUDA stream the driver knows ("
                    + "cuStreamGetCtx: " + CudaException.nameOf(r) + "); pass a live CUstream handle, or 0 (legacy default "
                    + "stream) or 2 (per-thread default stream)");
        }
        if (!owner.equals(ctx.context())) {
            throw new IllegalArgumentException("stream " + hex(handle) + " belongs to CUDA context " + hex(value(owner))
                    + ", not to the primary context of cuda:" + ctx.ordinal() + " (" + hex(ctx.contextHandle())
                    + ") that SagePTX runs in: create the stream on device " + ctx.ordinal()
                    + " in its primary context (what the CUDA runtime and PyTorch use)");
        }
        return s;
    }

    /** Whether {@code handle} is one of the special streams 0, 1 ({@code CU_STREAM_LEGACY}) and 2 ({@code CU_STREAM_PER_THREAD}). */
    public static boolean isSpecialStream(long handle) {
        return handle == LEGACY_DEFAULT_STREAM || handle == CU_STREAM_LEGACY || handle == PER_THREAD_DEFAULT_STREAM;
    }

    /**
     * A JCuda context of a raw {@code CUcontext} handle, unchecked ({@link DeviceContext#forContext(long)}
     * checks that it is a primary context).
     *
     * @param handle the {@code CUcontext} value
     * @return a {@code CUcontext} whose native value is {@code handle}
     * @throws IllegalStateException when JCuda's handle field cannot be written in this JVM
     */
    public static CUcontext context(long handle) {
        return set(new CUcontext(), handle);
    }

    /**
     * The raw value of a JCuda handle ({@code CUstream}, {@code CUcontext}, {@code CUevent}, ...): what
     * another binding takes as the same object. Pointers ({@code CUdeviceptr}) carry a byte offset as well:
     * use {@code DeviceBuffer.addressOf} for them.
     *
     * @param handle a JCuda handle; null is 0
     * @return its native value
     * @throws IllegalStateException when JCuda's handle field cannot be read in this JVM
     */
    public static long value(NativePointerObject handle) {
        if (handle == null) return 0L;
        try {
            return field().getLong(handle);
        } catch (IllegalAccessException e) {
            throw unavailable(e.toString());
        }
    }

    /** {@code 0x...} of a handle value, as messages print it. */
    static String hex(long value) {
        return "0x" + Long.toHexString(value).toLowerCase(Locale.ROOT);
    }

    private static <T extends NativePointerObject> T set(T object, long handle) {
        try {
            field().setLong(object, handle);
            return object;
        } catch (IllegalAccessException e) {
            throw unavailable(e.toString());
        }
    }

    private static Field field() {
        if (NATIVE_POINTER == null) throw unavailable(UNAVAILABLE);
        return NATIVE_POINTER;
    }

    private static IllegalStateException unavailable(String why) {
        return new IllegalStateException("raw CUDA handles cannot be converted: JCuda's jcuda.NativePointerObject."
                + "nativePointer field is not accessible in this JVM (" + why + "); open the package to SagePTX "
                + "(--add-opens jcuda/jcuda=io.sageptx, or =ALL-UNNAMED on the class path) or pass JCuda objects");
    }
}
