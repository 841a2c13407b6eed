package ai.convllava.app.cli;

import ai.convllava.app.about.About;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.PrintWriter;

/** The {@code convllava} command line. */
@Command(name = "convllava", mixinStandardHelpOptions = true, version = About.VERSION,
        description = "Ask questions about images with ConvLLaVA, locally.",
        subcommands = {AskCommand.class, ServeCommand.class, ModelsCommand.class, SelfTestCommand.class, BenchNotHere.class})
public final class ConvLlavaCli implements Runnable {

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static int run(String[] args) {
        return run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    }

    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new ConvLlavaCli());
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }
}
