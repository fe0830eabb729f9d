package io.fedstream.lab.options;

import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.MedQuad;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --data}: where MedQuAD is, for the commands that read it. */
public final class MedQuadOption {
    @Option(
            names = "--data",
            description = "MedQuAD file or directory (default: found as MedQuad.locate() does).")
    Path data;

    /** Every MedQuAD example, from {@code --data} or from where {@link MedQuad} finds it. */
    public List<InstructionExample> readAll() throws IOException {
        return data == null ? MedQuad.readAll() : MedQuad.readAll(MedQuad.locate(data));
    }

    /** The file or directory given, or null. */
    public Path path() {
        return data;
    }
}
