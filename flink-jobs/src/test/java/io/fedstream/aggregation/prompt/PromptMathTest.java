package io.fedstream.aggregation.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.fedstream.aggregation.prompt.PromptMerge.ClientPrompt;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PromptMathTest {

    private static final float[] X = {1, 0, 0};
    private static final float[] Y = {0, 1, 0};
    private static final float[] Z = {0, 0, 1};

    @Test
    void attentionIsTheSoftmaxOfSummedCosinesToOtherClientsTokens() {
        // client 0: [x, y]; client 1: [x]; client 2: [z]
        List<float[][]> prompts =
                List.of(new float[][] {X, Y}, new float[][] {X}, new float[][] {Z});

        double[][] scores = TokenAttention.scores(prompts);
        double[][] w = TokenAttention.weights(prompts);

        // x of client 0 agrees with client 1's x (cos 1) and not with z (cos 0)
        assertThat(scores[0]).containsExactly(1.0, 0.0);
        assertThat(scores[1]).containsExactly(1.0); // its own client's tokens do not count
        assertThat(scores[2]).containsExactly(0.0);
        double e = Math.E;
        assertThat(w[0][0]).isCloseTo(e / (e + 1), within(1e-12));
        assertThat(w[0][1]).isCloseTo(1 / (e + 1), within(1e-12));
        assertThat(w[1][0]).isEqualTo(1.0);
    }

    @Test
    void attentionUsesCosineSoNormsDoNotMatter() {
        List<float[][]> prompts =
                List.of(new float[][] {{3, 4, 0}}, new float[][] {{6, 8, 0}, {0, 0, 5}});

        assertThat(TokenAttention.scores(prompts)[0][0]).isCloseTo(1.0, within(1e-12));
    }

    @Test
    void elbowOfAFlatThenSteepCurveIsWhereItTurns() {
        double[] curve = {0, 0.01, 0.02, 0.03, 0.04, 0.5, 0.9, 1.0};

        assertThat(Elbow.elbowIndex(curve)).isEqualTo(4);
        // no elbow: the smallest radius
        assertThat(Elbow.elbowIndex(new double[] {0.2, 0.2, 0.2})).isEqualTo(0);
        assertThat(Elbow.elbowIndex(new double[] {0, 0.5, 1})).isEqualTo(0);
    }

    @Test
    void kDistancesAreSortedCosineDistancesToTheKthNeighbour() {
        List<float[]> points = List.of(X, X, Y);

        // nearest other point: x->x 0, x->x 0, y->x 1
        assertThat(Elbow.sortedKDistances(points, 1)).containsExactly(0.0, 0.0, 1.0);
        assertThat(Elbow.sortedKDistances(points, 2)).containsExactly(1.0, 1.0, 1.0);
        assertThatThrownBy(() -> Elbow.sortedKDistances(points, 3))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void dbscanFindsTwoTightGroupsAndCallsTheLonePointNoise() {
        List<float[]> points =
                List.of(
                        new float[] {1, 0.05f, 0},
                        new float[] {0, 1, 0},
                        new float[] {1, 0, 0},
                        new float[] {0.05f, 1, 0},
                        new float[] {1, -0.05f, 0},
                        new float[] {0, 0, 1});

        int[] labels = Dbscan.cluster(points, 0.01, 2);

        assertThat(labels).containsExactly(0, 1, 0, 1, 0, Dbscan.NOISE);
        assertThat(Dbscan.cluster(points, 0.01, 4)).containsOnly(Dbscan.NOISE);
        assertThat(Dbscan.cluster(points, 1.0, 2)).containsOnly(0); // everything is one cluster
    }

    @Test
    void dbscanWithElbowEpsSeparatesGroupsWithoutATunedRadius() {
        List<float[]> points =
                List.of(
                        new float[] {1, 0.02f, 0},
                        new float[] {1, 0, 0},
                        new float[] {1, -0.02f, 0},
                        new float[] {0.02f, 1, 0},
                        new float[] {0, 1, 0},
                        new float[] {-0.02f, 1, 0},
                        new float[] {0, 0.7f, 0.7f});

        double eps = Elbow.eps(points, 1);
        int[] labels = Dbscan.cluster(points, eps, 2);

        assertThat(eps).isLessThan(0.01);
        assertThat(labels).containsExactly(0, 0, 0, 1, 1, 1, Dbscan.NOISE);
    }

    @Test
    void kmeansIsDeterministicForASeedAndSplitsSeparatedGroups() {
        List<float[]> points =
                List.of(
                        new float[] {1, 0.1f, 0},
                        new float[] {0, 1, 0.1f},
                        new float[] {1, 0, 0.1f},
                        new float[] {0.1f, 1, 0},
                        new float[] {0, 0.1f, 1},
                        new float[] {0.1f, 0, 1});

        int[] a = KMeans.cluster(points, 3, 7, 50);
        int[] b = KMeans.cluster(points, 3, 7, 50);

        assertThat(a).isEqualTo(b);
        assertThat(a[0]).isEqualTo(a[2]);
        assertThat(a[1]).isEqualTo(a[3]);
        assertThat(a[4]).isEqualTo(a[5]);
        assertThat(List.of(a[0], a[1], a[4])).doesNotHaveDuplicates();
    }

    private static final Map<String, float[]> WORDS =
            Map.of(
                    "classify", new float[] {1, 0, 0, 0},
                    "categorize", new float[] {0.95f, 0.05f, 0, 0},
                    "movie", new float[] {0, 1, 0, 0},
                    "film", new float[] {0, 0.97f, 0.03f, 0},
                    "sentiment", new float[] {0, 0, 1, 0},
                    "banana", new float[] {0, 0, 0, 1});

    @Test
    void mergeKeepsTheHighestWeightTokenOfEachClusterInPositionOrder() {
        List<ClientPrompt> prompts =
                List.of(
                        new ClientPrompt("a", List.of("classify", "movie", "sentiment")),
                        new ClientPrompt("b", List.of("classify", "film", "sentiment")),
                        new ClientPrompt("c", List.of("categorize", "movie", "banana")));

        PromptMerge.Result r =
                PromptMerge.merge(
                        prompts,
                        WORDS::get,
                        new PromptMerge.Config(PromptMerge.Clustering.DBSCAN, 2, 0.05, 0, 0, 10));

        // clusters {classify x2, categorize}, {movie x2, film}, {sentiment x2}; banana is noise.
        // Scores: classify in a = 1 + cos(classify, categorize) = 1.9987, categorize in c = 2 x
        // 0.9987 = 1.9975; but the softmax is within each prompt, and c's other tokens score lower
        // (banana 0) than a's (sentiment 1.03), so categorize's weight 0.468 beats classify's
        // 0.420.
        assertThat(r.words()).containsExactly("categorize", "movie", "sentiment");
        assertThat(r.clusters()).isEqualTo(3);
        assertThat(r.noise()).isEqualTo(1);
        assertThat(r.tokens())
                .extracting(PromptMerge.MergedToken::position)
                .containsExactly(0, 1, 2);
    }

    @Test
    void mergeWithElbowAndWithKMeansAgreeOnAClearCase() {
        List<ClientPrompt> prompts =
                List.of(
                        new ClientPrompt("a", List.of("classify", "movie", "sentiment")),
                        new ClientPrompt("b", List.of("classify", "movie", "sentiment")),
                        new ClientPrompt("c", List.of("classify", "movie", "banana")));

        List<String> dbscan =
                PromptMerge.merge(prompts, WORDS::get, PromptMerge.Config.dbscan()).words();
        List<String> kmeans =
                PromptMerge.merge(prompts, WORDS::get, PromptMerge.Config.kmeans(3, 1)).words();

        assertThat(dbscan).containsExactly("classify", "movie", "sentiment");
        // KMeans has no noise: with k = 3, banana shares a cluster with sentiment and loses on
        // weight
        assertThat(kmeans).containsExactly("classify", "movie", "sentiment");
    }

    @Test
    void identicalPromptsOfRealValuedEmbeddingsMergeToThemselves() {
        // cos(v, v) computes to 1 +- a few ulps for such vectors; the distance must still be 0
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        Map<String, float[]> table = new java.util.HashMap<>();
        List<String> words = List.of("the", "sentiment", "of", "this", "movie", "review", "is");
        for (String w : words) {
            float[] v = new float[384];
            for (int d = 0; d < v.length; d++) {
                v[d] = (float) rnd.nextGaussian() * 0.037f;
            }
            table.put(w, v);
        }
        List<ClientPrompt> two =
                List.of(new ClientPrompt("a", words), new ClientPrompt("b", words));

        assertThat(Vectors.cosineDistance(table.get("movie"), table.get("movie"))).isZero();
        assertThat(PromptMerge.merge(two, table::get, PromptMerge.Config.dbscan()).words())
                .isEqualTo(words);
    }

    @Test
    void aSingleClientsPromptComesBackUnchanged() {
        List<ClientPrompt> one = List.of(new ClientPrompt("a", List.of("movie", "sentiment")));

        assertThat(PromptMerge.merge(one, WORDS::get, PromptMerge.Config.dbscan()).words())
                .containsExactly("movie", "sentiment");
    }

    @Test
    void maxTokensKeepsTheHighestWeightTokens() {
        List<ClientPrompt> prompts =
                List.of(
                        new ClientPrompt("a", List.of("classify", "movie", "sentiment")),
                        new ClientPrompt("b", List.of("banana", "movie", "sentiment")),
                        new ClientPrompt("c", List.of("banana", "film", "classify")));

        List<String> words =
                PromptMerge.merge(
                                prompts,
                                WORDS::get,
                                new PromptMerge.Config(
                                        PromptMerge.Clustering.DBSCAN, 2, 0.05, 0, 0, 2))
                        .words();

        assertThat(words).hasSize(2);
    }

    @Test
    void embeddingAverageMapsPositionMeansToTheNearestWord() throws Exception {
        TokenEmbeddings table =
                new TokenEmbeddings(
                        List.of("classify", "categorize", "movie", "film", "sentiment", "banana"),
                        new float[][] {
                            WORDS.get("classify"),
                            WORDS.get("categorize"),
                            WORDS.get("movie"),
                            WORDS.get("film"),
                            WORDS.get("sentiment"),
                            WORDS.get("banana")
                        });
        List<ClientPrompt> prompts =
                List.of(
                        new ClientPrompt("a", List.of("classify", "movie")),
                        new ClientPrompt("b", List.of("categorize", "film")),
                        new ClientPrompt("c", List.of("banana", "movie", "sentiment")));

        List<String> avg = EmbeddingAverage.merge(prompts, table, t -> true);

        // position 0: (classify + categorize + banana)/3 is nearest to classify; length = median 2
        assertThat(avg).containsExactly("classify", "movie");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        table.write(bytes);
        TokenEmbeddings back = TokenEmbeddings.read(new ByteArrayInputStream(bytes.toByteArray()));
        assertThat(back.size()).isEqualTo(6);
        assertThat(back.vector("film")).containsExactly(WORDS.get("film"));
        assertThat(TokenEmbeddings.isWord("##ing")).isFalse();
        assertThat(TokenEmbeddings.isWord("[CLS]")).isFalse();
        assertThat(TokenEmbeddings.isWord("movie")).isTrue();
    }
}
