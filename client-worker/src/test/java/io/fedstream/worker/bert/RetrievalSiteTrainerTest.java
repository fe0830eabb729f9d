package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.data.MedQuad;
import io.fedstream.worker.sites.QaRetrieval;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The retrieval trainer on the real all-MiniLM-L6-v2 and the shipped MedQuAD. */
class RetrievalSiteTrainerTest {
    private static LoraBert model;

    @BeforeAll
    static void load() throws Exception {
        model = QaRetrieval.miniLm(QaRetrieval.defaultLora(3), 5);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void embeddingsFromTheCachedPrefixEqualTheFullForwardPass() throws Exception {
        // a non-zero adapter, so the adapted layers matter
        Map<String, float[]> adapter = new HashMap<>(model.adapterSpec("t", 5).initialValues());
        SplittableRandom r = new SplittableRandom(3);
        adapter.replaceAll(
                (k, v) -> {
                    float[] o = v.clone();
                    for (int i = 0; i < o.length; i++) {
                        o[i] += (float) (0.02 * (r.nextDouble() - 0.5));
                    }
                    return o;
                });
        model.setAdapter(adapter);
        try (HuggingFaceTokenizer tok = MiniLm.tokenizer(32)) {
            TokenBatch batch =
                    BertSiteTrainer.trim(
                            TokenBatch.encode(
                                    tok,
                                    List.of(
                                            "What are the symptoms of Asthma ?",
                                            "How to diagnose Acromegaly ?",
                                            "Is it inherited ?"),
                                    32));
            float[] full = model.sentenceEmbeddings(batch, true);
            float[] viaPrefix =
                    model.sentenceEmbeddingsFromPrefix(model.frozenPrefix(batch), batch);
            assertThat(viaPrefix).hasSize(full.length);
            for (int i = 0; i < full.length; i++) {
                assertThat(viaPrefix[i]).isCloseTo(full[i], within(1e-5f));
            }
        }
    }

    @Test
    void localTrainingLowersTheLossAndLeavesTheFederatedStreamAlone() {
        QaRetrieval task =
                QaRetrieval.split(MedQuad.readAll(), new QaRetrieval.Settings(16, 8, 32, 64, 11))
                        .firstSites(2);
        List<RetrievalSiteTrainer> ts =
                task.trainers(model, new RetrievalSiteTrainer.Options(32, 8, 1, 3e-3, 20, 11));
        RetrievalSiteTrainer site = ts.get(0);
        Map<String, float[]> start = model.adapterSpec("t", 5).initialValues();

        SiteTrainer.TrainResult first = site.train(start, 0);
        Map<String, float[]> next = Adapters.apply(start, first.delta());
        SiteTrainer.TrainResult later = null;
        for (int r = 1; r < 6; r++) {
            later = site.train(next, r);
            next = Adapters.apply(next, later.delta());
        }
        assertThat(later.metrics().get(RetrievalSiteTrainer.TRAIN_LOSS))
                .isLessThan(first.metrics().get(RetrievalSiteTrainer.TRAIN_LOSS));
        assertThat(first.numExamples()).isEqualTo(16);

        // training alone twice gives the same adapter: its own random streams
        Map<String, float[]> a = site.trainAlone(start, 2);
        Map<String, float[]> b = site.trainAlone(start, 2);
        for (String k : a.keySet()) {
            assertThat(a.get(k)).containsExactly(b.get(k));
        }
        // and a fresh trainer's first federated round is what the first one's was
        RetrievalSiteTrainer fresh =
                task.trainers(model, new RetrievalSiteTrainer.Options(32, 8, 1, 3e-3, 20, 11))
                        .get(0);
        fresh.trainAlone(start, 3);
        SiteTrainer.TrainResult again = fresh.train(start, 0);
        for (String k : first.delta().keySet()) {
            assertThat(again.delta().get(k)).containsExactly(first.delta().get(k));
        }
    }
}
