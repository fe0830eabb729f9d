package io.fedstream.worker.fedpit;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The filters a generated (instruction, answer) pair must pass before it may train anything: not
 * empty, not a refusal, long enough, and not a near copy of the site's private data (ROUGE-L above
 * {@link Config#maxRougeL()} against any local instruction or answer: such a pair would carry the
 * private example into the global adapter, which is what FedPIT exists to prevent). Instructions
 * that nearly repeat an instruction already kept this round are dropped as duplicates.
 */
public final class SyntheticFilter {

    /** Why a candidate was dropped. */
    public enum Reason {
        /** Nothing (or only punctuation) was generated. */
        EMPTY,
        /** The answer starts like a refusal ("As an AI ...", "Sorry ..."). */
        REFUSAL,
        /** Fewer words than the configured minimum. */
        TOO_SHORT,
        /** ROUGE-L above the threshold against a local (private) instruction or answer. */
        NEAR_COPY,
        /** ROUGE-L above the threshold against an instruction kept earlier this round. */
        DUPLICATE;

        /** The metric name, e.g. {@code filtered_near_copy}. */
        public String metric() {
            return "filtered_" + name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @param minInstructionWords fewest words a generated instruction may have
     * @param minAnswerWords fewest words a generated answer may have
     * @param maxRougeL highest ROUGE-L F against any local example (paper: 0.7)
     * @param refusalPrefixes lower-case prefixes of refusals, matched on the trimmed answer
     */
    public record Config(
            int minInstructionWords,
            int minAnswerWords,
            double maxRougeL,
            List<String> refusalPrefixes) {
        public Config {
            if (minInstructionWords < 1 || minAnswerWords < 1) {
                throw new IllegalArgumentException("minimum lengths must be at least 1 word");
            }
            if (!(maxRougeL > 0 && maxRougeL <= 1)) {
                throw new IllegalArgumentException("maxRougeL must be in (0, 1]: " + maxRougeL);
            }
            refusalPrefixes =
                    refusalPrefixes.stream().map(p -> p.toLowerCase(Locale.ROOT)).toList();
        }

        /** 3-word instructions, 5-word answers, ROUGE-L 0.7, common refusal openings. */
        public static Config defaults() {
            return new Config(
                    3,
                    5,
                    0.7,
                    List.of(
                            "as a ",
                            "as an ",
                            "sorry",
                            "i'm sorry",
                            "i am sorry",
                            "i cannot",
                            "i can't",
                            "i can not",
                            "i apologize",
                            "unfortunately, i"));
        }
    }

    private final Config config;

    public SyntheticFilter(Config config) {
        this.config = config;
    }

    public Config config() {
        return config;
    }

    /**
     * Checks a generated instruction before an answer is generated for it.
     *
     * @param localInstructions the site's private instructions
     * @param kept instructions already accepted this round
     * @return the reason to drop it, or empty to keep it
     */
    public Optional<Reason> checkInstruction(
            String instruction, Collection<String> localInstructions, Collection<String> kept) {
        int words = RougeL.tokens(instruction).size();
        if (words == 0) {
            return Optional.of(Reason.EMPTY);
        }
        if (words < config.minInstructionWords()) {
            return Optional.of(Reason.TOO_SHORT);
        }
        if (RougeL.maxF(instruction, localInstructions) > config.maxRougeL()) {
            return Optional.of(Reason.NEAR_COPY);
        }
        if (RougeL.maxF(instruction, kept) > config.maxRougeL()) {
            return Optional.of(Reason.DUPLICATE);
        }
        return Optional.empty();
    }

    /**
     * Checks a generated answer.
     *
     * @param localAnswers the site's private answers
     * @return the reason to drop it, or empty to keep it
     */
    public Optional<Reason> checkAnswer(String answer, Collection<String> localAnswers) {
        int words = RougeL.tokens(answer).size();
        if (words == 0) {
            return Optional.of(Reason.EMPTY);
        }
        if (isRefusal(answer)) {
            return Optional.of(Reason.REFUSAL);
        }
        if (words < config.minAnswerWords()) {
            return Optional.of(Reason.TOO_SHORT);
        }
        if (RougeL.maxF(answer, localAnswers) > config.maxRougeL()) {
            return Optional.of(Reason.NEAR_COPY);
        }
        return Optional.empty();
    }

    /** Whether {@code answer} opens with one of the refusal prefixes (case-insensitive). */
    public boolean isRefusal(String answer) {
        String a = answer.strip().toLowerCase(Locale.ROOT).replace('\u2019', '\'');
        for (String p : config.refusalPrefixes()) {
            if (a.startsWith(p)) {
                return true;
            }
        }
        return false;
    }
}
