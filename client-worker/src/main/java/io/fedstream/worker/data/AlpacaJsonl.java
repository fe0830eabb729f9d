package io.fedstream.worker.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads instruction data in JSON lines, plain or gzip-compressed, with either field naming:
 *
 * <ul>
 *   <li>Alpaca: {@code instruction}, {@code input}, {@code output};
 *   <li>Dolly: {@code instruction}, {@code context}, {@code response}, {@code category}.
 * </ul>
 *
 * {@code instruction} and one of {@code output}/{@code response} are required (a string, possibly
 * empty); {@code input}/{@code context} may be missing or null (empty input). Optional {@code
 * category}, {@code source} and {@code id} are kept; without an {@code id}, the example's id is
 * {@code <file name>:<line>}. When both names of a field are present the Alpaca one wins. Other
 * fields are ignored. A JSON array file (the original {@code alpaca_data.json}) is not JSON lines
 * and is reported as malformed at its first line.
 */
public final class AlpacaJsonl {
    private static final Set<String> FIELDS =
            Set.of(
                    "id",
                    "instruction",
                    "input",
                    "context",
                    "output",
                    "response",
                    "category",
                    "source");

    private AlpacaJsonl() {}

    /** Opens a streaming reader that fails on the first malformed line. */
    public static InstructionReader open(Path file) throws IOException {
        return open(file, OnMalformed.FAIL);
    }

    /** Opens a streaming reader with the given policy for malformed lines. */
    public static InstructionReader open(Path file, OnMalformed onMalformed) throws IOException {
        String fileName = String.valueOf(file.getFileName());
        return new InstructionReader(file, new Format(fileName), onMalformed);
    }

    /** Reads a whole file, failing on the first malformed line. */
    public static List<InstructionExample> readAll(Path file) {
        return readAll(file, OnMalformed.FAIL);
    }

    /** Reads a whole file with the given policy for malformed lines. */
    public static List<InstructionExample> readAll(Path file, OnMalformed onMalformed) {
        return InstructionReader.readAll(
                file, new Format(String.valueOf(file.getFileName())), onMalformed);
    }

    private record Format(String fileName) implements InstructionReader.Format {
        @Override
        public Set<String> fields() {
            return FIELDS;
        }

        @Override
        public InstructionExample toExample(
                Map<String, String> v, long line, InstructionReader reader)
                throws InstructionReader.BadRecord {
            String instruction = v.get("instruction");
            if (instruction == null) {
                throw new InstructionReader.BadRecord("missing field 'instruction'");
            }
            String output = firstOf(v, "output", "response");
            if (output == null) {
                throw new InstructionReader.BadRecord(
                        "missing field 'output' (Alpaca) or 'response' (Dolly)");
            }
            String input = firstOf(v, "input", "context");
            String id = v.get("id");
            return new InstructionExample(
                    id != null ? id : fileName + ":" + line,
                    instruction,
                    input,
                    output,
                    reader.share(v.get("category")),
                    reader.share(v.get("source")));
        }

        private static String firstOf(Map<String, String> v, String a, String b) {
            String x = v.get(a);
            return x != null ? x : v.get(b);
        }
    }
}
