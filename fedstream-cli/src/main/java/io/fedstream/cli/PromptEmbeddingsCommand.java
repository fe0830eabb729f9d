package io.fedstream.cli;

import io.fedstream.aggregation.prompt.TokenEmbeddings;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.prompt.TokenSpace;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./fedstream prompt-embeddings}: the token embedding table of the FedDTPT prompt job. */
@Command(
        name = "prompt-embeddings",
        mixinStandardHelpOptions = true,
        description =
                "Writes all-MiniLM-L6-v2's whole-word token embeddings (the words FedDTPT prompts"
                        + " may use and their input embedding rows) as the table the prompt job"
                        + " reads (fedstream.prompt.embeddings.file).")
final class PromptEmbeddingsCommand implements Callable<Integer> {
    @Option(
            names = "--out",
            defaultValue = "minilm-words.fste",
            description = "Output file (default ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() throws Exception {
        TokenSpace space = TokenSpace.miniLm(MiniLm.onnx());
        TokenEmbeddings table = new TokenEmbeddings(space.words(), space.vectors());
        table.write(out);
        System.out.printf("%s: %d words x %d dimensions%n", out, table.size(), table.dim());
        return 0;
    }
}
