package io.fedstream.worker.fedpit;

import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.fedpit.SyntheticFilter.Reason;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * One round of FedPIT's synthetic data generation at a site: {@link Config#candidates()} times, a
 * new instruction from the instruction prompt, checked by the filters, then its answer from the
 * answer prompt, checked again; the surviving pairs are scored by IFS under the local model and the
 * best {@link Config#keep()} are returned. Greedy decoding: the candidates differ by their random
 * demonstrations.
 */
public final class SelfInstruct {

    /**
     * @param candidates pairs to generate per round (paper: 32)
     * @param keep pairs to keep by IFS (paper: 16)
     * @param maxInstructionTokens longest generated instruction
     * @param maxAnswerTokens longest generated answer
     */
    public record Config(
            int candidates,
            int keep,
            int maxInstructionTokens,
            int maxAnswerTokens,
            SelfInstructPrompts.Config prompts,
            SyntheticFilter.Config filter) {
        public Config {
            if (candidates < 0 || keep < 0 || maxInstructionTokens < 1 || maxAnswerTokens < 1) {
                throw new IllegalArgumentException("bad self-instruct config");
            }
        }

        /** The paper's 32 candidates and 16 kept; 32 instruction and 96 answer tokens. */
        public static Config defaults() {
            return new Config(
                    32,
                    16,
                    32,
                    96,
                    SelfInstructPrompts.Config.defaults(),
                    SyntheticFilter.Config.defaults());
        }

        public Config withCandidates(int candidates, int keep) {
            return new Config(
                    candidates, keep, maxInstructionTokens, maxAnswerTokens, prompts, filter);
        }
    }

    /**
     * A round's outcome.
     *
     * @param kept the selected synthetic examples, best IFS first
     * @param generated candidates attempted
     * @param filtered dropped candidates by reason
     * @param scored candidates that passed the filters and were scored
     * @param generationMillis time spent generating
     * @param scoringMillis time spent computing IFS
     * @param meanKeptIfs mean IFS of the kept examples (NaN if none)
     */
    public record Round(
            List<InstructionExample> kept,
            int generated,
            Map<Reason, Integer> filtered,
            int scored,
            long generationMillis,
            long scoringMillis,
            double meanKeptIfs) {

        /** The round as worker metrics (names in {@link SelfInstruct}'s constants). */
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put(GENERATED, (double) generated);
            m.put(KEPT, (double) kept.size());
            for (Reason r : Reason.values()) {
                m.put(r.metric(), (double) filtered.getOrDefault(r, 0));
            }
            m.put(GENERATION_MILLIS, (double) generationMillis);
            m.put(SCORING_MILLIS, (double) scoringMillis);
            m.put(MEAN_KEPT_IFS, meanKeptIfs);
            return m;
        }
    }

    public static final String GENERATED = "synthetic_generated";
    public static final String KEPT = "synthetic_kept";
    public static final String GENERATION_MILLIS = "generation_millis";
    public static final String SCORING_MILLIS = "ifs_scoring_millis";
    public static final String MEAN_KEPT_IFS = "synthetic_mean_ifs";

    private final Config config;
    private final SelfInstructPrompts prompts;
    private final SyntheticFilter filter;

    public SelfInstruct(Config config) {
        this.config = config;
        this.prompts = new SelfInstructPrompts(config.prompts());
        this.filter = new SyntheticFilter(config.filter());
    }

    public Config config() {
        return config;
    }

    /**
     * Generates, filters and selects one round of synthetic examples.
     *
     * @param local the site's private examples (demonstrations and the near-copy reference)
     * @param generator the model that writes instructions and answers
     * @param scorer the local model that scores IFS
     * @param idPrefix the synthetic examples' ids are {@code idPrefix + index}
     */
    public Round generate(
            List<InstructionExample> local,
            TextGenerator generator,
            AnswerScorer scorer,
            SplittableRandom random,
            String idPrefix) {
        if (local.isEmpty()) {
            throw new IllegalArgumentException("self-instruct needs local examples");
        }
        List<String> localInstructions =
                local.stream().map(InstructionExample::instruction).toList();
        List<String> localAnswers = local.stream().map(InstructionExample::output).toList();
        Map<Reason, Integer> filtered = new EnumMap<>(Reason.class);
        List<InstructionExample> passed = new ArrayList<>();
        List<String> instructions = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < config.candidates(); i++) {
            String instruction =
                    SelfInstructPrompts.parseInstruction(
                            generator.complete(
                                    generator.chat()
                                            ? prompts.chatInstructionPrompt(local, random)
                                            : prompts.instructionPrompt(local, random),
                                    config.maxInstructionTokens(),
                                    SelfInstructPrompts.STOPS));
            Optional<Reason> bad =
                    filter.checkInstruction(instruction, localInstructions, instructions);
            if (bad.isPresent()) {
                filtered.merge(bad.get(), 1, Integer::sum);
                continue;
            }
            String answer =
                    SelfInstructPrompts.parseAnswer(
                            generator.complete(
                                    generator.chat()
                                            ? instruction
                                            : prompts.answerPrompt(local, instruction, random),
                                    config.maxAnswerTokens(),
                                    SelfInstructPrompts.STOPS));
            bad = filter.checkAnswer(answer, localAnswers);
            if (bad.isPresent()) {
                filtered.merge(bad.get(), 1, Integer::sum);
                continue;
            }
            instructions.add(instruction);
            passed.add(
                    new InstructionExample(
                            idPrefix + i, instruction, "", answer, "synthetic", "synthetic"));
        }
        long t1 = System.nanoTime();
        List<InstructionFollowing.Scored<InstructionExample>> scored = score(passed, scorer);
        List<InstructionFollowing.Scored<InstructionExample>> best =
                InstructionFollowing.best(scored, config.keep());
        long t2 = System.nanoTime();
        double ifsSum = 0;
        List<InstructionExample> kept = new ArrayList<>();
        for (InstructionFollowing.Scored<InstructionExample> s : best) {
            kept.add(s.item());
            ifsSum += s.ifs();
        }
        return new Round(
                List.copyOf(kept),
                config.candidates(),
                Map.copyOf(filtered),
                passed.size(),
                (t1 - t0) / 1_000_000,
                (t2 - t1) / 1_000_000,
                kept.isEmpty() ? Double.NaN : ifsSum / kept.size());
    }

    /** IFS of every example under {@code scorer}. */
    public static List<InstructionFollowing.Scored<InstructionExample>> score(
            List<InstructionExample> examples, AnswerScorer scorer) {
        if (examples.isEmpty()) {
            return List.of();
        }
        List<String> withPrompts = new ArrayList<>();
        List<String> noPrompts = new ArrayList<>();
        List<String> answers = new ArrayList<>();
        for (InstructionExample e : examples) {
            withPrompts.add(scorer.promptOf(e));
            noPrompts.add("");
            answers.add(e.output());
        }
        double[] conditioned = scorer.meanNll(withPrompts, answers);
        double[] alone = scorer.meanNll(noPrompts, answers);
        List<InstructionFollowing.Scored<InstructionExample>> out = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            out.add(new InstructionFollowing.Scored<>(examples.get(i), conditioned[i], alone[i]));
        }
        return out;
    }
}
