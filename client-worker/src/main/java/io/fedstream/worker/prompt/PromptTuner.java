package io.fedstream.worker.prompt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * FedDTPT's client-side discrete optimiser: token-level edits of a prompt, scored only by the
 * accuracy a black-box model reaches with it.
 *
 * <p>Starting from the global prompt it repeatedly proposes one edit, scores the edited prompt on
 * the scoring set (the site's local batch plus a small class-balanced public set, the paper's
 * counter to non-IID data: one API call per example) and keeps it if its accuracy is strictly
 * higher. Edits:
 *
 * <ul>
 *   <li><b>replace</b> the token at a position by one of its {@code neighbours} nearest words in
 *       the encoder's token embedding space ({@link TokenSpace});
 *   <li><b>insert</b> before a position a neighbour of a token that helped in an earlier accepted
 *       edit (or of the token there, before any edit helped);
 *   <li><b>delete</b> the token at a position.
 * </ul>
 *
 * The feedback of earlier edits steers the search: an operation and a position are drawn with
 * probability ∝ (1 + accepted) / (1 + tried) of their history, insertions grow from the tokens of
 * accepted edits, and a prompt already scored is never scored (paid for) again. The search stops
 * when the next scoring would exceed the API-call budget or after {@code maxProposals} proposals
 * without an affordable new candidate.
 */
public final class PromptTuner {
    /** One labelled example; {@code label} is the answer word the model should reply. */
    public record Example(String text, String label) {}

    /**
     * @param apiBudget most API calls one tuning run may spend (base prompt's scoring included)
     * @param neighbours candidates per token: its nearest words in the token space
     * @param minTokens shortest prompt (deletes stop there)
     * @param maxTokens longest prompt (inserts stop there)
     * @param seed the search's randomness
     */
    public record Config(int apiBudget, int neighbours, int minTokens, int maxTokens, long seed) {
        public Config {
            if (apiBudget < 1 || neighbours < 1 || minTokens < 1 || maxTokens < minTokens) {
                throw new IllegalArgumentException("bad tuner configuration: " + this);
            }
        }
    }

    /**
     * @param tokens the tuned prompt
     * @param accuracy its accuracy on the scoring set
     * @param baseAccuracy the starting prompt's accuracy on the same set
     * @param apiCalls calls spent
     * @param proposals edits scored (each cost one call per scoring example)
     * @param accepted edits kept
     */
    public record Result(
            List<String> tokens,
            double accuracy,
            double baseAccuracy,
            long apiCalls,
            int proposals,
            int accepted) {}

    private enum Op {
        REPLACE,
        INSERT,
        DELETE
    }

    private final BlackBoxModel model;
    private final TokenSpace space;
    private final Config config;

    public PromptTuner(BlackBoxModel model, TokenSpace space, Config config) {
        this.model = model;
        this.space = space;
        this.config = config;
    }

    /** The prompt's text as sent to the model: its tokens separated by spaces. */
    public static String text(List<String> tokens) {
        return String.join(" ", tokens);
    }

    /** Whether a reply names {@code label}: its first word, case-insensitive. */
    public static boolean matches(String reply, String label) {
        String first = reply.strip().toLowerCase(Locale.ROOT).split("[^a-z0-9]+", 2)[0];
        return first.equals(label.toLowerCase(Locale.ROOT));
    }

    /** Accuracy of {@code tokens} on {@code examples}: one call per example. */
    public static double accuracy(
            BlackBoxModel model, List<String> tokens, List<Example> examples) {
        String prompt = text(tokens);
        int correct = 0;
        for (Example e : examples) {
            if (matches(model.complete(prompt, e.text()), e.label())) {
                correct++;
            }
        }
        return examples.isEmpty() ? 0 : (double) correct / examples.size();
    }

    public Result tune(List<String> start, List<Example> scoring) {
        if (scoring.isEmpty()) {
            throw new IllegalArgumentException("no scoring examples");
        }
        for (String t : start) {
            if (!space.contains(t)) {
                throw new IllegalArgumentException("start token not in the word space: " + t);
            }
        }
        CountingModel counted = new CountingModel(model);
        SplittableRandom random = new SplittableRandom(config.seed());
        int cost = scoring.size();
        List<String> current = new ArrayList<>(start);
        if (current.isEmpty()) {
            throw new IllegalArgumentException("the start prompt is empty");
        }
        double base = accuracy(counted, current, scoring);
        double best = base;
        Set<String> scored = new HashSet<>();
        scored.add(text(current));
        int[] opTried = new int[3];
        int[] opAccepted = new int[3];
        Map<Integer, int[]> positions = new HashMap<>(); // position -> {tried, accepted}
        Set<String> helpful = new LinkedHashSet<>();
        Map<String, List<String>> neighbourCache = new HashMap<>();
        int proposals = 0;
        int accepted = 0;
        int misses = 0;
        while (counted.calls() + cost <= config.apiBudget() && misses < 200) {
            Op op = drawOp(random, opTried, opAccepted, current.size());
            int pos =
                    drawPosition(
                            random,
                            positions,
                            op == Op.INSERT ? current.size() + 1 : current.size());
            List<String> candidate = new ArrayList<>(current);
            switch (op) {
                case REPLACE -> {
                    List<String> near = neighbours(neighbourCache, current.get(pos));
                    candidate.set(pos, near.get(random.nextInt(near.size())));
                }
                case INSERT -> {
                    String seed;
                    if (!helpful.isEmpty() && random.nextBoolean()) {
                        List<String> h = new ArrayList<>(helpful);
                        seed = h.get(random.nextInt(h.size()));
                    } else {
                        seed = current.get(Math.min(pos, current.size() - 1));
                    }
                    List<String> near = neighbours(neighbourCache, seed);
                    candidate.add(pos, near.get(random.nextInt(near.size())));
                }
                case DELETE -> candidate.remove(pos);
            }
            if (!scored.add(text(candidate))) {
                misses++;
                continue;
            }
            misses = 0;
            proposals++;
            opTried[op.ordinal()]++;
            int[] p = positions.computeIfAbsent(pos, k -> new int[2]);
            p[0]++;
            double acc = accuracy(counted, candidate, scoring);
            if (acc > best) {
                best = acc;
                current = candidate;
                accepted++;
                opAccepted[op.ordinal()]++;
                p[1]++;
                if (op != Op.DELETE) {
                    helpful.add(candidate.get(pos));
                }
            }
        }
        return new Result(List.copyOf(current), best, base, counted.calls(), proposals, accepted);
    }

    private List<String> neighbours(Map<String, List<String>> cache, String token) {
        return cache.computeIfAbsent(token, t -> space.nearest(t, config.neighbours()));
    }

    private Op drawOp(SplittableRandom random, int[] tried, int[] accepted, int length) {
        double[] w = new double[3];
        for (Op op : Op.values()) {
            boolean allowed =
                    switch (op) {
                        case REPLACE -> true;
                        case INSERT -> length < config.maxTokens();
                        case DELETE -> length > config.minTokens();
                    };
            w[op.ordinal()] =
                    allowed ? (1.0 + accepted[op.ordinal()]) / (1.0 + tried[op.ordinal()]) : 0;
        }
        return Op.values()[draw(random, w)];
    }

    private static int drawPosition(SplittableRandom random, Map<Integer, int[]> history, int n) {
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            int[] h = history.get(i);
            w[i] = h == null ? 1.0 : (1.0 + h[1]) / (1.0 + h[0]);
        }
        return draw(random, w);
    }

    private static int draw(SplittableRandom random, double[] weights) {
        double total = 0;
        for (double w : weights) {
            total += w;
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < weights.length; i++) {
            r -= weights[i];
            if (r < 0 && weights[i] > 0) {
                return i;
            }
        }
        for (int i = weights.length - 1; i >= 0; i--) {
            if (weights[i] > 0) {
                return i;
            }
        }
        throw new IllegalStateException("nothing to draw from");
    }
}
