package io.fedstream.worker.data;

import java.util.Locale;
import java.util.Objects;

/**
 * One instruction-tuning example: an instruction, an optional input (context), the expected output
 * (response), and optional metadata used to split data among federated sites.
 *
 * @param id a stable identifier, unique within its dataset
 * @param instruction the task or question; never null
 * @param input context for the instruction; never null, empty when there is none
 * @param output the reference response; never null
 * @param category a task category (Dolly's category, MedQuAD's question type); may be null
 * @param source where the example comes from (MedQuAD's website); may be null
 */
public record InstructionExample(
        String id,
        String instruction,
        String input,
        String output,
        String category,
        String source) {

    // Canonical field names accepted by label(String), besides the aliases listed there.
    public static final String ID = "id";
    public static final String INSTRUCTION = "instruction";
    public static final String INPUT = "input";
    public static final String OUTPUT = "output";
    public static final String CATEGORY = "category";
    public static final String SOURCE = "source";

    public InstructionExample {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(instruction, "instruction");
        Objects.requireNonNull(output, "output");
        input = input == null ? "" : input;
    }

    /**
     * The Alpaca-style prompt, ending where the response begins:
     *
     * <pre>
     * ### Instruction:
     * {instruction}
     *
     * ### Input:
     * {input}
     *
     * ### Response:
     * </pre>
     *
     * The input section is left out when the input is blank, as in Alpaca's no-input template.
     */
    public String prompt() {
        StringBuilder sb =
                new StringBuilder(instruction.length() + input.length() + 64)
                        .append("### Instruction:\n")
                        .append(instruction)
                        .append("\n\n");
        if (!input.isBlank()) {
            sb.append("### Input:\n").append(input).append("\n\n");
        }
        return sb.append("### Response:\n").toString();
    }

    /** {@link #prompt()} followed by the output: the full text a causal LM is tuned on. */
    public String text() {
        return prompt() + output;
    }

    /**
     * The value of a field, for partitioning and statistics: {@code id}, {@code instruction},
     * {@code input}, {@code output}, {@code category} or {@code source} (case-insensitive), or one
     * of the aliases {@code context} (input), {@code response} (output), {@code question}
     * (instruction), {@code answer} (output) and {@code qtype} (category).
     *
     * @return the value, null when the example has none
     * @throws IllegalArgumentException for an unknown field name
     */
    public String label(String field) {
        return switch (canonicalField(field)) {
            case ID -> id;
            case INSTRUCTION -> instruction;
            case INPUT -> input;
            case OUTPUT -> output;
            case CATEGORY -> category;
            case SOURCE -> source;
            default -> throw new AssertionError(field);
        };
    }

    /** The canonical name of a field or alias accepted by {@link #label(String)}. */
    public static String canonicalField(String field) {
        Objects.requireNonNull(field, "field");
        return switch (field.toLowerCase(Locale.ROOT)) {
            case "id" -> ID;
            case "instruction", "question" -> INSTRUCTION;
            case "input", "context" -> INPUT;
            case "output", "response", "answer" -> OUTPUT;
            case "category", "qtype" -> CATEGORY;
            case "source" -> SOURCE;
            default ->
                    throw new IllegalArgumentException(
                            "unknown field '"
                                    + field
                                    + "'; expected one of id, instruction, input, output,"
                                    + " category, source (or context, response, question,"
                                    + " answer, qtype)");
        };
    }
}
