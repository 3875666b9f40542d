package io.sageptx.cuda;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUjit_option;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.driver.JITOptions;

/**
 * A PTX module JIT-compiled by the driver into one device's primary context.
 *
 * <p>Loading goes through {@code JCudaDriver.cuModuleLoadDataJIT(CUmodule, Pointer, JITOptions)}, a
 * wrapper of {@code cuModuleLoadDataEx}. It returns the CUresult (it never throws, whatever JCuda's
 * exception setting), and after the call JCuda copies the driver's log buffers back into the
 * {@code byte[]}s given with {@code putBytes}, and the filled sizes into the {@code *_SIZE_BYTES}
 * entries. The options used: {@code CU_JIT_ERROR_LOG_BUFFER} / {@code CU_JIT_INFO_LOG_BUFFER} (256 KiB
 * each, with their {@code _SIZE_BYTES}) and {@code CU_JIT_LOG_VERBOSE = 1}, so that {@link #infoLog()}
 * holds the JIT's per-kernel report ({@code ptxas info : Used N registers, ... bytes spill stores ...}).
 * The driver compiles for the device's arch-specific target (e.g. {@code sm_90a} on an H100), so
 * {@code .target sm_90a} PTX loads there.
 */
public final class PtxModule extends DeviceResource {

    static final int LOG_BYTES = 256 * 1024;
    private static final Pattern LINE_REF = Pattern.compile("line (\\d+)");

    private final String name;
    private final CUmodule module;
    private final String infoLog;
    private final double loadMillis;
    private final ConcurrentMap<String, CudaKernel> kernels = new ConcurrentHashMap<>();

    private PtxModule(DeviceContext ctx, String name, CUmodule module, String infoLog, double loadMillis) {
        super(ctx);
        this.name = name;
        this.module = module;
        this.infoLog = infoLog;
        this.loadMillis = loadMillis;
    }

    /**
     * JIT-compiles {@code ptx} for {@code ctx}'s device and loads it.
     *
     * @param nameForErrors names the module in messages (e.g. the kernel spec)
     * @throws PtxLoadException with the JIT error log when the driver refuses the PTX
     * @throws IllegalArgumentException when {@code ptx} contains a NUL character
     */
    public static PtxModule load(DeviceContext ctx, String ptx, String nameForErrors) {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(ptx, "ptx");
        String name = nameForErrors == null ? "<unnamed>" : nameForErrors;
        checkNoNul(ptx, name);
        byte[] image = image(ptx);
        byte[] errorLog = new byte[LOG_BYTES];
        byte[] infoLog = new byte[LOG_BYTES];
        JITOptions options = logOptions(errorLog, infoLog);

        ctx.makeCurrent();
        CUmodule module = new CUmodule();
        long t0 = System.nanoTime();
        int r = JCudaDriver.cuModuleLoadDataJIT(module, Pointer.to(image), options);
        double millis = (System.nanoTime() - t0) / 1e6;

        String err = logText(options, CUjit_option.CU_JIT_ERROR_LOG_BUFFER,
                CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, errorLog);
        String info = logText(options, CUjit_option.CU_JIT_INFO_LOG_BUFFER,
                CUjit_option.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, infoLog);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new PtxLoadException(r, name, err, info, failureDetail(ctx, ptx, err, info));
        }
        return new PtxModule(ctx, name, module, info, millis);
    }

    /**
     * Loads a cubin made for {@code ctx}'s device ({@link CubinLinker}) with {@code cuModuleLoadData}: no
     * JIT. A cubin for another architecture is refused by the driver ({@code CUDA_ERROR_NO_BINARY_FOR_GPU}
     * or {@code CUDA_ERROR_INVALID_IMAGE}), reported as a {@link CudaException}.
     */
    public static PtxModule loadCubin(DeviceContext ctx, byte[] cubin, String nameForErrors) {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(cubin, "cubin");
        String name = nameForErrors == null ? "<unnamed>" : nameForErrors;
        if (cubin.length == 0) {
            throw new IllegalArgumentException("cubin of module '" + name + "' is empty");
        }
        ctx.makeCurrent();
        CUmodule module = new CUmodule();
        long t0 = System.nanoTime();
        int r = JCudaDriver.cuModuleLoadData(module, cubin);
        double millis = (System.nanoTime() - t0) / 1e6;
        Cuda.check(r, "cuModuleLoadData(cubin of '" + name + "', " + cubin.length + " bytes) on " + ctx);
        return new PtxModule(ctx, name, module, "", millis);
    }

    /** The kernel {@code name} ({@code .entry} name) of this module; cached, so repeated calls return the same object. */
    public CudaKernel function(String kernelName) {
        Objects.requireNonNull(kernelName, "kernelName");
        ensureOpen();
        return kernels.computeIfAbsent(kernelName, n -> {
            ctx.makeCurrent();
            CUfunction f = new CUfunction();
            Cuda.check(JCudaDriver.cuModuleGetFunction(f, module, n),
                    "cuModuleGetFunction('" + n + "') in PTX module '" + name + "'");
            return new CudaKernel(this, n, f);
        });
    }

    /**
     * The JIT's info log (verbose: per kernel, registers, barriers, stack, spill stores/loads, compile
     * time). Empty when the driver's compute cache ({@code ~/.nv/ComputeCache}; {@code CUDA_CACHE_DISABLE=1}
     * turns it off) supplied the module without compiling; {@link CudaKernel#numRegs()} and
     * {@link CudaKernel#localBytes()} are always available.
     */
    public String infoLog() {
        return infoLog;
    }

    /** Wall time of the load call (JIT included for PTX; none for a cubin), in milliseconds. */
    public double loadMillis() {
        return loadMillis;
    }

    /** The module's name. */
    public String name() {
        return name;
    }


    /** The JCuda module object. */
    public CUmodule handle() {
        ensureOpen();
        return module;
    }


    /** Unloads the module on the first {@link #close()} (cuModuleUnload); its kernels become unusable. */
    @Override
    void release() {
        ctx.makeCurrent();
        Cuda.check(JCudaDriver.cuModuleUnload(module), "cuModuleUnload('" + name + "')");
    }

    @Override
    public String toString() {
        return "PtxModule[" + name + " on cuda:" + ctx.ordinal() + (isClosed() ? ", closed" : "") + "]";
    }

    /** Refuses PTX with a NUL character: the driver reads PTX as a NUL-terminated string. */
    static void checkNoNul(String ptx, String name) {
        if (ptx.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("PTX of module '" + name + "' contains a NUL character at index "
                    + ptx.indexOf('\0'));
        }
    }

    /** The PTX text as UTF-8 bytes with the terminating NUL the driver expects. */
    static byte[] image(String ptx) {
        byte[] text = ptx.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(text, text.length + 1);
    }

    /** JIT options: error and info log buffers ({@link #LOG_BYTES} each) and a verbose info log. */
    static JITOptions logOptions(byte[] errorLog, byte[] infoLog) {
        JITOptions options = new JITOptions();
        options.putBytes(CUjit_option.CU_JIT_ERROR_LOG_BUFFER, errorLog);
        options.putInt(CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, errorLog.length);
        options.putBytes(CUjit_option.CU_JIT_INFO_LOG_BUFFER, infoLog);
        options.putInt(CUjit_option.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, infoLog.length);
        options.putInt(CUjit_option.CU_JIT_LOG_VERBOSE, 1);
        return options;
    }

    /** The log text JCuda copied back: up to the filled size the driver reported, and up to the first NUL. */
    static String logText(JITOptions options, int bufferOption, int sizeOption, byte[] fallback) {
        byte[] buf = options.getBytes(bufferOption);
        if (buf == null) {
            buf = fallback;
        }
        int limit = buf.length;
        int filled = options.getInt(sizeOption);
        if (filled > 0 && filled < limit) {
            limit = filled;
        }
        int n = 0;
        while (n < limit && buf[n] != 0) {
            n++;
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8).strip();
    }

    static String failureDetail(DeviceContext ctx, String ptx, String err, String info) {
        StringBuilder sb = new StringBuilder();
        sb.append("device: ").append(ctx);
        sb.append("\nJIT error log:\n").append(err.isEmpty() ? "(empty)" : err);
        String quoted = quoteLines(ptx, err);
        if (!quoted.isEmpty()) {
            sb.append("\nPTX lines referred to:\n").append(quoted);
        }
        if (!info.isEmpty()) {
            sb.append("\nJIT info log:\n").append(info.length() > 4000 ? info.substring(0, 4000) + "..." : info);
        }
        return sb.toString();
    }

    /** The PTX source lines the error log refers to ("line N"), at most 8, numbered. */
    private static String quoteLines(String ptx, String err) {
        Set<Integer> numbers = new LinkedHashSet<>();
        Matcher m = LINE_REF.matcher(err);
        while (m.find() && numbers.size() < 8) {
            try {
                numbers.add(Integer.parseInt(m.group(1)));
            } catch (NumberFormatException ignored) {
                // not a line number we can use
            }
        }
        if (numbers.isEmpty()) {
            return "";
        }
        String[] lines = ptx.split("\n", -1);
        StringBuilder sb = new StringBuilder();
        for (int n : numbers) {
            if (n >= 1 && n <= lines.length) {
                String line = lines[n - 1].stripTrailing();
                if (line.length() > 300) {
                    line = line.substring(0, 300) + "...";
                }
                sb.append(String.format("%6d | %s%n", n, line));
            }
        }
        return sb.toString().stripTrailing();
    }
}
