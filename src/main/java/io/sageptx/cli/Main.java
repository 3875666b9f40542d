package io.sageptx.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sageptx} command line: one subcommand per job; errors print one line and exit non-zero. */
@Command(name = "sageptx", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"SageAttention2++ kernels generated as PTX at run time.",
                "Options have one form in every command: --head-dim 64,128  --seq 1k,4096  --causal false|true|both  "
                        + "--dtype fp16,bf16  --device N  --cache-dir DIR; paths are relative to the current directory."},
        subcommands = {EmitPtxCommand.class, RunCommand.class, InfoCommand.class, BenchCommand.class, WarmupCommand.class,
                AutotuneCommand.class, VerifyCommand.class, CacheCommand.class, PlotCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** The version of the build ({@code io/sageptx/sageptx.properties}, filled in by Maven). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"sageptx " + version()};
        }
    }

    /** The version of this build, or "unknown" when its resource is missing. */
    static String version() {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = Main.class.getResourceAsStream("/io/sageptx/sageptx.properties")) {
            if (in != null) p.load(in);
        } catch (java.io.IOException e) {
            // unknown
        }
        return p.getProperty("version", "unknown");
    }

    public static void main(String[] args) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by tests). */
    public static CommandLine commandLine() {
        CliLogging.install();
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine line = ex.getCommandLine();
            String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
            line.getErr().println(line.getCommandSpec().qualifiedName() + ": " + msg.lines().findFirst().orElse(msg)
                    + " (see '" + line.getCommandSpec().qualifiedName() + " --help')");
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            line.getErr().println(line.getCommandSpec().qualifiedName() + ": " + UserErrors.message(ex));
            return 1;
        });
        return cl;
    }
}
