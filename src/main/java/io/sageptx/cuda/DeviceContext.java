package io.sageptx.cuda;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;

import io.sageptx.api.SageAttention;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * One CUDA device and its <em>primary</em> context (retained with {@code cuDevicePrimaryCtxRetain},
 * never created with {@code cuCtxCreate}, so pointers from frameworks sharing the process, which also
 * use the primary context, are valid here). One instance per device ordinal, cached and shared by all
 * threads; the primary context stays retained for the life of the JVM.
 *
 * <p>Nothing in this package assumes a "current" device: every object that calls the driver holds its
 * {@code DeviceContext} and calls {@link #makeCurrent()} on the calling thread first.
 */
public final class DeviceContext {

    private static final ConcurrentMap<Integer, DeviceContext> CACHE = new ConcurrentHashMap<>();

    private final int ordinal;
    private final CUdevice device;
    private final CUcontext context;
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int multiprocessorCount;
    private final long totalMemoryBytes;
    private final int maxSharedMemoryPerBlock;
    private final int maxSharedMemoryPerBlockOptin;
    private final int maxSharedMemoryPerMultiprocessor;
    private final int l2CacheBytes;
    private final int driverVersion;

    /**
     * The context of device {@code ordinal}, created on first use (cuInit, cuDeviceGet,
     * cuDevicePrimaryCtxRetain, attribute queries). Thread-safe.
     *
     * @throws CudaUnavailableException when there is no usable driver or device
     * @throws IllegalArgumentException when {@code ordinal} is not in {@code [0, Cuda.deviceCount())}
     */
    public static DeviceContext of(int ordinal) {
        DeviceContext ctx = CACHE.get(ordinal);
        if (ctx != null) {
            return ctx;
        }
        Cuda.requireAvailable();
        int count = Cuda.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("CUDA device ordinal " + ordinal + " out of range: "
                    + count + " device(s) present");
        }
        return CACHE.computeIfAbsent(ordinal, DeviceContext::new);
    }

    /**
     * The device whose context is current on the calling thread (e.g. the one a framework made current
     * with cudaSetDevice), provided that context is that device's primary context. Works for any device
     * of the host.
     *
     * @throws CudaUnavailableException when there is no usable driver or device
     * @throws IllegalStateException    when no context is current on this thread, or the current one is
     *                                  not a primary context (SagePTX loads its kernels into primary
     *                                  contexts only)
     */
    public static DeviceContext current() {
        Cuda.requireAvailable();
        CUcontext cur = new CUcontext();
        Cuda.check(JCudaDriver.cuCtxGetCurrent(cur), "cuCtxGetCurrent");
        if (cur.equals(new CUcontext())) {
            throw new IllegalStateException("no CUDA context is current on thread '" + Thread.currentThread().getName()
                    + "': make a device current first (cudaSetDevice, or cuCtxSetCurrent with the device's primary"
                    + " context), or name the device: SageAttention.onDevice(ordinal)");
        }
        CUdevice dev = new CUdevice();
        Cuda.check(JCudaDriver.cuCtxGetDevice(dev), "cuCtxGetDevice (of the current context)");
        int ordinal = -1;
        for (int n = 0; n < Cuda.deviceCount() && ordinal < 0; n++) {
            CUdevice d = new CUdevice();
            Cuda.check(JCudaDriver.cuDeviceGet(d, n), "cuDeviceGet(" + n + ")");
            if (d.equals(dev)) ordinal = n;
        }
        if (ordinal < 0) {
            throw new IllegalStateException("the current CUDA context's device " + dev + " is not among the "
                    + Cuda.deviceCount() + " device(s) the driver lists");
        }
        DeviceContext ctx = of(ordinal);
        if (!ctx.context.equals(cur)) {
            throw new IllegalStateException("the CUDA context current on thread '" + Thread.currentThread().getName()
                    + "' is not the primary context of device " + ordinal + " (it was made with cuCtxCreate or"
                    + " similar); SagePTX runs in primary contexts only: make the primary context current"
                    + " (cudaSetDevice / cuDevicePrimaryCtxRetain + cuCtxSetCurrent) or use SageAttention.onDevice("
                    + ordinal + ")");
        }
        return ctx;
    }

    /**
     * The device whose primary context has the raw handle {@code cuContext} (a {@code CUcontext} value from
     * another binding: PyTorch's current context through JavaCPP, a JNI library, the CUDA runtime's
     * {@code cudaSetDevice} context). Only devices whose primary context is already active are looked at,
     * so no context is created on any other device.
     *
     * @param cuContext the {@code CUcontext} handle; must be the primary context of a device
     * @return the device's context (the cached instance of {@link #of(int)})
     * @throws IllegalArgumentException when {@code cuContext} is 0 or not the primary context of any device
     *                                  (for example one made with {@code cuCtxCreate})
     * @throws CudaUnavailableException when there is no usable driver or device
     */
    public static DeviceContext forContext(long cuContext) {
        if (cuContext == 0) {
            throw new IllegalArgumentException("cuContext is 0 (no context): pass the CUcontext handle of a device's"
                    + " primary context, or use forCurrentContext() / onDevice(ordinal)");
        }
        Cuda.requireAvailable();
        StringBuilder active = new StringBuilder();
        for (int n = 0; n < Cuda.deviceCount(); n++) {
            DeviceContext cached = CACHE.get(n);
            if (cached == null) {
                CUdevice d = new CUdevice();
                Cuda.check(JCudaDriver.cuDeviceGet(d, n), "cuDeviceGet(" + n + ")");
                int[] flags = {0};
                int[] isActive = {0};
                Cuda.check(JCudaDriver.cuDevicePrimaryCtxGetState(d, flags, isActive),
                        "cuDevicePrimaryCtxGetState(device " + n + ")");
                if (isActive[0] == 0) continue; // its primary context does not exist: the handle is not it
            }
            DeviceContext ctx = of(n);
            if (ctx.contextHandle() == cuContext) return ctx;
            active.append(active.length() == 0 ? "" : ", ").append("cuda:").append(n).append(' ')
                    .append(CudaHandles.hex(ctx.contextHandle()));
        }
        throw new IllegalArgumentException("cuContext " + CudaHandles.hex(cuContext) + " is not the primary context of"
                + " any of the " + Cuda.deviceCount() + " CUDA device(s) (active primary contexts: "
                + (active.length() == 0 ? "none" : active) + "); SagePTX runs in primary contexts only: pass the"
                + " context of cuDevicePrimaryCtxRetain or of the CUDA runtime (cudaSetDevice), not one of cuCtxCreate");
    }

    /**
     * {@link #forContext(long)} for a JCuda context object.
     *
     * @param context a device's primary context
     * @return the device's context
     */
    public static DeviceContext forContext(CUcontext context) {
        return forContext(CudaHandles.value(context));
    }

    private DeviceContext(int ordinal) {
        this.ordinal = ordinal;
        String where = " (device " + ordinal + ")";
        Cuda.check(JCudaDriver.cuInit(0), "cuInit(0)");
        device = new CUdevice();
        Cuda.check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet" + where);
        context = new CUcontext();
        Cuda.check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain" + where);
        makeCurrent();

        byte[] nameBytes = new byte[256];
        Cuda.check(JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName" + where);
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) {
            len++;
        }
        name = new String(nameBytes, 0, len, StandardCharsets.UTF_8).trim();

        long[] mem = {0};
        Cuda.check(JCudaDriver.cuDeviceTotalMem(mem, device), "cuDeviceTotalMem" + where);
        totalMemoryBytes = mem[0];

        ccMajor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        ccMinor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        multiprocessorCount = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        maxSharedMemoryPerBlock = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
        maxSharedMemoryPerBlockOptin = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        maxSharedMemoryPerMultiprocessor = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR);
        l2CacheBytes = attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);

        int[] v = {0};
        Cuda.check(JCudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
        driverVersion = v[0];
    }

    /** Makes this device's primary context current on the calling thread (cuCtxSetCurrent; cheap). */
    public void makeCurrent() {
        Cuda.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent (device " + ordinal + ")");
    }

    /** Waits for all work in this context, on every stream (cuCtxSynchronize). */
    public void synchronize() {
        makeCurrent();
        Cuda.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize (device " + ordinal + ")");
    }

    /** Queries any device attribute ({@link CUdevice_attribute} constant) with cuDeviceGetAttribute. */
    public int attribute(int cuDeviceAttribute) {
        int[] out = {0};
        Cuda.check(JCudaDriver.cuDeviceGetAttribute(out, cuDeviceAttribute, device),
                "cuDeviceGetAttribute(" + CUdevice_attribute.stringFor(cuDeviceAttribute) + ") (device " + ordinal + ")");
        return out[0];
    }

    /** The device ordinal (as {@code cuDeviceGet} numbers it). */
    public int ordinal() {
        return ordinal;
    }

    /** The JCuda device object. */
    public CUdevice device() {
        return device;
    }

    /** The retained primary context. */
    public CUcontext context() {
        return context;
    }

    /** The raw {@code CUcontext} value of the primary context, as other bindings take it. */
    public long contextHandle() {
        return CudaHandles.value(context);
    }

    /** The device's name, e.g. {@code NVIDIA H100 80GB HBM3}. */
    public String name() {
        return name;
    }

    /** Compute capability, major number (9 on an H100). */
    public int computeCapabilityMajor() {
        return ccMajor;
    }

    /** Compute capability, minor number (0 on an H100). */
    public int computeCapabilityMinor() {
        return ccMinor;
    }

    /** 10*major + minor, e.g. 90 for an H100. */
    public int computeCapability() {
        return ccMajor * 10 + ccMinor;
    }

    /** e.g. {@code "sm_90"} (without the {@code a} suffix). */
    public String smName() {
        return "sm_" + ccMajor + ccMinor;
    }

    /** Streaming multiprocessors. */
    public int multiprocessorCount() {
        return multiprocessorCount;
    }

    /** Device memory in bytes. */
    public long totalMemoryBytes() {
        return totalMemoryBytes;
    }

    /** Shared memory per block without opting in (48 KiB on current GPUs). */
    public int maxSharedMemoryPerBlock() {
        return maxSharedMemoryPerBlock;
    }

    /** CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: the most a kernel can opt in to (227 KiB on H100). */
    public int maxSharedMemoryPerBlockOptin() {
        return maxSharedMemoryPerBlockOptin;
    }

    /** Shared memory per multiprocessor in bytes. */
    public int maxSharedMemoryPerMultiprocessor() {
        return maxSharedMemoryPerMultiprocessor;
    }

    /** L2 cache in bytes. */
    public int l2CacheBytes() {
        return l2CacheBytes;
    }

    /** cuDriverGetVersion, e.g. 13000. */
    public int driverVersion() {
        return driverVersion;
    }

    @Override
    public String toString() {
        return "cuda:" + ordinal + " " + name + " (" + smName() + ", " + multiprocessorCount + " SMs, "
                + (totalMemoryBytes >> 20) + " MiB, smem opt-in " + (maxSharedMemoryPerBlockOptin >> 10)
                + " KiB, L2 " + (l2CacheBytes >> 10) + " KiB, driver CUDA " + Cuda.formatVersion(driverVersion) + ")";
    }
}
