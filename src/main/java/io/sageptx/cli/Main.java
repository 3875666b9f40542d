package io.sageptx.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sageptx} command line: one subcommand per job; errors print one line and exit non-zero. */
@Command(name = "sageptx", mixinStandardHelpOptions = true, version = "sageptx 0.1.0",
        description = "SageAttention2++ kernels generated as PTX at run time.",
        subcommands = {EmitPtxCommand.class, RunCommand.class, InfoCommand.class, BenchCommand.class, WarmupCommand.class,
                AutotuneCommand.class, VerifyCommand.class, CacheCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
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
            String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
            line.getErr().println("sageptx " + String.join(" ", line.getCommandSpec().qualifiedName().split(" ")).replace("sageptx", "").trim()
                    + ": " + msg.lines().findFirst().orElse(msg));
            return 1;
        });
        return cl;
    }
}
