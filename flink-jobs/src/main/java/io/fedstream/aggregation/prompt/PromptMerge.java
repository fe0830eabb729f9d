package io.fedstream.aggregation.prompt;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * FedDTPT's server step: merges the clients' discrete prompts into one global prompt.
 *
 * <ol>
 *   <li>Embed every token of every prompt ({@code embed}, an encoder's embedding layer).
 *   <li>Weight the tokens by {@link TokenAttention}: cosine similarity to the other clients'
 *       tokens, softmaxed within each prompt.
 *   <li>Cluster all tokens: {@link Dbscan} with eps from the {@link Elbow} of the sorted
 *       k-distances (k = minPts - 1), as the paper's text describes, or {@link KMeans} (the paper's
 *       algorithm box) with k = the median prompt length unless configured.
 *   <li>Keep the highest-weight token of every cluster, ordered by its position in its own prompt
 *       (then by weight, then by client), at most {@code maxTokens} of them (the highest-weight
 *       ones).
 * </ol>
 *
 * DBSCAN's noise points (tokens no other token is near) are dropped; if DBSCAN finds no cluster at
 * all, every token is its own cluster. A round with a single prompt returns it unchanged (up to
 * {@code maxTokens}): there is nothing to merge it with.
 */
public final class PromptMerge {
    private PromptMerge() {}

    public enum Clustering {
        DBSCAN,
        KMEANS;

        public static Clustering parse(String s) {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        }
    }

    /**
     * @param clustering DBSCAN (default) or KMEANS
     * @param minPts DBSCAN's minimum neighbourhood size, itself included (≥ 2)
     * @param eps DBSCAN's radius in cosine distance; 0 or less chooses it by elbow detection
     * @param k KMeans' number of clusters; 0 or less uses the median prompt length
     * @param seed KMeans' seed
     * @param maxTokens the longest global prompt
     */
    public record Config(
            Clustering clustering, int minPts, double eps, int k, long seed, int maxTokens)
            implements java.io.Serializable {
        public Config {
            if (minPts < 2) {
                throw new IllegalArgumentException("minPts must be >= 2: " + minPts);
            }
            if (maxTokens < 1) {
                throw new IllegalArgumentException("maxTokens must be >= 1: " + maxTokens);
            }
        }

        public static Config dbscan() {
            return new Config(Clustering.DBSCAN, 2, 0, 0, 0, 64);
        }

        public static Config kmeans(int k, long seed) {
            return new Config(Clustering.KMEANS, 2, 0, k, seed, 64);
        }

        public String describe() {
            return clustering == Clustering.DBSCAN
                    ? "dbscan(minPts=" + minPts + (eps > 0 ? ",eps=" + eps : ",eps=elbow") + ")"
                    : "kmeans(k=" + (k > 0 ? k : "median-length") + ",seed=" + seed + ")";
        }
    }

    /** One client's prompt: its tokens in position order. */
    public record ClientPrompt(String clientId, List<String> tokens) {
        public ClientPrompt {
            tokens = List.copyOf(tokens);
        }
    }

    /** A token of the global prompt and where it came from. */
    public record MergedToken(
            String token, int position, String clientId, int cluster, double weight) {}

    /**
     * @param tokens the global prompt
     * @param eps the DBSCAN radius used (NaN for KMeans)
     * @param clusters number of clusters found
     * @param noise number of tokens DBSCAN left as noise
     */
    public record Result(List<MergedToken> tokens, double eps, int clusters, int noise) {
        public List<String> words() {
            return tokens.stream().map(MergedToken::token).toList();
        }
    }

    public static Result merge(
            List<ClientPrompt> prompts, Function<String, float[]> embed, Config config) {
        List<float[][]> embedded = new ArrayList<>();
        List<float[]> points = new ArrayList<>();
        List<int[]> owner = new ArrayList<>(); // {client, position}
        for (int c = 0; c < prompts.size(); c++) {
            List<String> tokens = prompts.get(c).tokens();
            float[][] e = new float[tokens.size()][];
            for (int n = 0; n < e.length; n++) {
                e[n] = embed.apply(tokens.get(n));
                points.add(e[n]);
                owner.add(new int[] {c, n});
            }
            embedded.add(e);
        }
        if (points.isEmpty()) {
            return new Result(List.of(), Double.NaN, 0, 0);
        }
        double[][] weights = TokenAttention.weights(embedded);

        int[] labels;
        if (prompts.size() == 1) {
            labels = new int[points.size()];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = i;
            }
            return keep(prompts, owner, weights, labels, Double.NaN, config);
        }
        double eps = Double.NaN;
        if (config.clustering() == Clustering.DBSCAN) {
            eps =
                    config.eps() > 0
                            ? config.eps()
                            : points.size() > config.minPts() - 1
                                    ? Elbow.eps(points, config.minPts() - 1)
                                    : 0;
            labels = Dbscan.cluster(points, eps, config.minPts());
            if (Arrays.stream(labels).allMatch(l -> l == Dbscan.NOISE)) {
                for (int i = 0; i < labels.length; i++) {
                    labels[i] = i;
                }
            }
        } else {
            int k = config.k() > 0 ? config.k() : medianLength(prompts);
            labels =
                    KMeans.cluster(
                            points, Math.min(Math.max(k, 1), points.size()), config.seed(), 100);
        }

        return keep(prompts, owner, weights, labels, eps, config);
    }

    private static Result keep(
            List<ClientPrompt> prompts,
            List<int[]> owner,
            double[][] weights,
            int[] labels,
            double eps,
            Config config) {
        int clusters = Arrays.stream(labels).max().orElse(-1) + 1;
        int noise = (int) Arrays.stream(labels).filter(l -> l == Dbscan.NOISE).count();
        MergedToken[] best = new MergedToken[clusters];
        for (int i = 0; i < labels.length; i++) {
            int l = labels[i];
            if (l < 0) {
                continue;
            }
            int[] o = owner.get(i);
            double w = weights[o[0]][o[1]];
            if (best[l] == null || w > best[l].weight()) {
                best[l] =
                        new MergedToken(
                                prompts.get(o[0]).tokens().get(o[1]),
                                o[1],
                                prompts.get(o[0]).clientId(),
                                l,
                                w);
            }
        }
        List<MergedToken> kept = new ArrayList<>();
        for (MergedToken t : best) {
            if (t != null) {
                kept.add(t);
            }
        }
        if (kept.size() > config.maxTokens()) {
            kept.sort(Comparator.comparingDouble(MergedToken::weight).reversed());
            kept = new ArrayList<>(kept.subList(0, config.maxTokens()));
        }
        kept.sort(
                Comparator.comparingInt(MergedToken::position)
                        .thenComparing(Comparator.comparingDouble(MergedToken::weight).reversed())
                        .thenComparing(MergedToken::clientId));
        return new Result(List.copyOf(kept), eps, clusters, noise);
    }

    static int medianLength(List<ClientPrompt> prompts) {
        int[] lengths = prompts.stream().mapToInt(p -> p.tokens().size()).sorted().toArray();
        return lengths.length == 0 ? 0 : lengths[(lengths.length - 1) / 2];
    }
}
