package io.fedstream.lab.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.data.InstructionExample;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The experiment's bookkeeping (the training itself is tested in client-worker). */
class FedPitExperimentTest {

    /** A site that always proposes the same delta with a fixed example count. */
    record FixedSite(float delta, long examples) implements SiteTrainer {
        @Override
        public FederationSpec federationSpec(String federationId, long seed) {
            throw new AssertionError("fedAvg must not ask a site for the federation spec");
        }

        @Override
        public TrainResult train(Map<String, float[]> global, long baseVersion) {
            return new TrainResult(Map.of("w", new float[] {delta}), examples, Map.of());
        }

        @Override
        public EvalResult evaluate(Map<String, float[]> adapter) {
            throw new AssertionError("fedAvg must not evaluate");
        }

        @Override
        public void close() {}
    }

    @Test
    void fedAvgWeighsDeltasByExamplesEveryRound() {
        Map<String, float[]> v0 = Map.of("w", new float[] {1});

        Map<String, float[]> g =
                FedPitExperiment.fedAvg(
                        List.of(new FixedSite(1, 1), new FixedSite(-1, 3)), v0, 2, null);

        // each round: (1·1 + 3·(−1)) / 4 = −0.5
        assertThat(g.get("w")).containsExactly(0f);
    }

    @Test
    void probesTakeExamplesRoundRobinOverSites() {
        Map<String, List<InstructionExample>> bySite = new LinkedHashMap<>();
        bySite.put("a", List.of(ex("a1"), ex("a2"), ex("a3")));
        bySite.put("b", List.of(ex("b1")));

        assertThat(FedPitExperiment.probe(bySite, 3))
                .extracting(InstructionExample::id)
                .containsExactly("a1", "b1", "a2");
        assertThat(FedPitExperiment.probe(bySite, 100)).hasSize(4);
    }

    private static InstructionExample ex(String id) {
        return new InstructionExample(id, "q", "", "a", null, null);
    }
}
