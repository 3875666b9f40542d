package io.sageptx.cuda;

/**
 * The driver's JIT refused a PTX module. The message holds the module name, the CUresult, the JIT
 * error log (e.g. {@code ptxas application ptx input, line 12; error : ...}) and the PTX source lines
 * the log refers to.
 */
public class PtxLoadException extends CudaException {
    private static final long serialVersionUID = 1L;

    private final String moduleName;
    private final String errorLog;
    private final String infoLog;

    /** A module the driver refused: its result, name, the JIT's error and info logs, and what was being done. */
    public PtxLoadException(int result, String moduleName, String errorLog, String infoLog, String detail) {
        super(result, "loading PTX module '" + moduleName + "' (cuModuleLoadDataEx)", detail, null);
        this.moduleName = moduleName;
        this.errorLog = errorLog == null ? "" : errorLog;
        this.infoLog = infoLog == null ? "" : infoLog;
    }

    /** The module's name. */
    public String moduleName() {
        return moduleName;
    }

    /** The JIT error log (empty if the JIT wrote none). */
    public String errorLog() {
        return errorLog;
    }

    /** The JIT info log (empty if the JIT wrote none). */
    public String infoLog() {
        return infoLog;
    }
}
