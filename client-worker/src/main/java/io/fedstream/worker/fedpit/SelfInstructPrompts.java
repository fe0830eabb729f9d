package io.fedstream.worker.fedpit;

import io.fedstream.worker.data.InstructionExample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The two self-instruct prompts of FedPIT's synthetic data generation, in the Alpaca layout the
 * site's model is tuned on ({@link InstructionExample#prompt()}), so that a plain completion model
 * continues them in kind:
 *
 * <ol>
 *   <li>{@link #instructionPrompt}: {@link Config#instructionDemos()} random local instructions as
 *       demonstrations, each under {@code ### Instruction:}, then an open {@code ### Instruction:}
 *       the model completes with a new instruction;
 *   <li>{@link #answerPrompt}: {@link Config#answerDemos()} random local examples as demonstrations
 *       (instruction and response, responses cut to {@link Config#maxDemoAnswerWords()} words so
 *       the prompt fits a small context), then the new instruction and an open {@code ###
 *       Response:}.
 * </ol>
 *
 * A generation ends at the next {@code ###} ({@link #STOPS}); {@link #parseInstruction} and {@link
 * #parseAnswer} cut the completion there.
 */
public final class SelfInstructPrompts {
    public static final String INSTRUCTION = "### Instruction:";
    public static final String INPUT = "### Input:";
    public static final String RESPONSE = "### Response:";

    /** Stop sequences of both prompts. */
    public static final List<String> STOPS = List.of("###");

    /**
     * @param instructionDemos local instructions shown to generate a new one (paper: 8)
     * @param answerDemos local examples shown to answer a new instruction
     * @param maxDemoAnswerWords a demonstration's response is cut to this many words
     */
    public record Config(int instructionDemos, int answerDemos, int maxDemoAnswerWords) {
        public Config {
            if (instructionDemos < 1 || answerDemos < 0 || maxDemoAnswerWords < 1) {
                throw new IllegalArgumentException("bad prompt config " + this);
            }
        }

        /** 8 instruction demonstrations, 2 answer demonstrations of at most 48 words. */
        public static Config defaults() {
            return new Config(8, 2, 48);
        }
    }

    private final Config config;

    public SelfInstructPrompts(Config config) {
        this.config = config;
    }

    public Config config() {
        return config;
    }

    /** {@code k} distinct examples of {@code local} (all if fewer), in random order. */
    public static List<InstructionExample> sample(
            List<InstructionExample> local, int k, SplittableRandom random) {
        List<InstructionExample> pool = new ArrayList<>(local);
        int n = Math.min(k, pool.size());
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(pool.size() - i);
            InstructionExample t = pool.get(i);
            pool.set(i, pool.get(j));
            pool.set(j, t);
        }
        return List.copyOf(pool.subList(0, n));
    }

    /** The prompt asking for a new instruction, with demonstrations drawn from {@code local}. */
    public String instructionPrompt(List<InstructionExample> local, SplittableRandom random) {
        StringBuilder sb = new StringBuilder();
        for (InstructionExample e : sample(local, config.instructionDemos(), random)) {
            sb.append(INSTRUCTION).append('\n').append(e.instruction().strip()).append("\n\n");
        }
        return sb.append(INSTRUCTION).append('\n').toString();
    }

    /**
     * The user turn asking a chat model for a new instruction: {@link Config#instructionDemos()}
     * random local instructions as a list, then the request for one more of the kind, on one line.
     * (Its answer is then asked for with the instruction alone as the user turn, the layout the
     * model is tuned on.)
     */
    public String chatInstructionPrompt(List<InstructionExample> local, SplittableRandom random) {
        StringBuilder sb = new StringBuilder("Here are some instructions:\n");
        for (InstructionExample e : sample(local, config.instructionDemos(), random)) {
            sb.append("- ").append(e.instruction().strip().replace('\n', ' ')).append('\n');
        }
        return sb.append(
                        "Write one new instruction of the same kind, on one line, and nothing else.")
                .toString();
    }

    /** The prompt asking to answer {@code instruction}, with demonstrations from {@code local}. */
    public String answerPrompt(
            List<InstructionExample> local, String instruction, SplittableRandom random) {
        StringBuilder sb = new StringBuilder();
        for (InstructionExample e : sample(local, config.answerDemos(), random)) {
            sb.append(INSTRUCTION).append('\n').append(e.instruction().strip()).append("\n\n");
            if (!e.input().isBlank()) {
                sb.append(INPUT).append('\n').append(e.input().strip()).append("\n\n");
            }
            sb.append(RESPONSE)
                    .append('\n')
                    .append(firstWords(e.output(), config.maxDemoAnswerWords()))
                    .append("\n\n");
        }
        return sb.append(INSTRUCTION)
                .append('\n')
                .append(instruction.strip())
                .append("\n\n")
                .append(RESPONSE)
                .append('\n')
                .toString();
    }

    /** The completion up to the first stop sequence, on one line, trimmed. */
    public static String parseInstruction(String completion) {
        String s = cut(completion);
        int nl = s.indexOf('\n');
        if (nl >= 0) {
            s = s.substring(0, nl);
        }
        return s.strip();
    }

    /** The completion up to the first stop sequence, trimmed. */
    public static String parseAnswer(String completion) {
        return cut(completion).strip();
    }

    /** {@code text} up to the first of {@code stops} (all of it if none occurs). */
    public static String cutAtStops(String text, List<String> stops) {
        int end = text.length();
        for (String stop : stops) {
            int i = text.indexOf(stop);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        return text.substring(0, end);
    }

    private static String cut(String completion) {
        return cutAtStops(completion, STOPS);
    }

    // the first n whitespace-separated words of text
    static String firstWords(String text, int n) {
        String[] words = text.strip().split("\\s+");
        if (words.length <= n) {
            return text.strip();
        }
        return String.join(" ", java.util.Arrays.copyOf(words, n));
    }
}
