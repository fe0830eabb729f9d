package io.fedstream.worker.sites;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.RetrievalSiteTrainer;
import io.fedstream.worker.data.InstructionExample;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class QaRetrievalTest {

    // two sites; site A has 10 documents of 3 questions, site B 6 documents of 2
    private static List<InstructionExample> data() {
        List<InstructionExample> out = new ArrayList<>();
        for (int d = 0; d < 10; d++) {
            for (int q = 0; q < 3; q++) {
                out.add(ex("A", d, q));
            }
        }
        for (int d = 0; d < 6; d++) {
            for (int q = 0; q < 2; q++) {
                out.add(ex("B", d, q));
            }
        }
        // a repeated question and an empty answer are dropped
        out.add(ex("A", 0, 0));
        out.add(new InstructionExample("00099-1#999", "empty?", "", " ", null, "A"));
        return out;
    }

    private static InstructionExample ex(String site, int doc, int q) {
        String id = String.format("%05d-%d#%d", doc, q + 1, doc * 10 + q);
        return new InstructionExample(
                id,
                site + " question " + q + " about disease " + doc,
                "",
                site + " answer " + q + " on disease " + doc,
                null,
                site);
    }

    @Test
    void holdsOutWholeDocumentsAndKeepsTrainingApart() {
        QaRetrieval r = QaRetrieval.split(data(), new QaRetrieval.Settings(9, 4, 32, 64, 7));

        assertThat(r.sites()).extracting(QaRetrieval.SiteSplit::name).containsExactly("A", "B");
        QaRetrieval.SiteSplit a = r.sites().get(0);
        assertThat(a.test()).hasSize(4);
        assertThat(a.train()).hasSize(9);
        // the held-out documents' other answers are distractors: 2 documents of 3 = 6 pairs
        assertThat(a.test().size() + a.heldOutDistractors().size()).isEqualTo(6);
        Set<String> testDocs = docs(a.test());
        testDocs.addAll(docs(a.heldOutDistractors()));
        assertThat(docs(a.train())).doesNotContainAnyElementsOf(testDocs);
        // B: 12 pairs, at most half held out
        QaRetrieval.SiteSplit b = r.sites().get(1);
        assertThat(b.test()).hasSize(4);
        assertThat(b.train()).hasSize(8);
    }

    @Test
    void thePoolHoldsEveryHeldOutAnswerOfEverySite() {
        QaRetrieval r = QaRetrieval.split(data(), new QaRetrieval.Settings(9, 4, 32, 64, 7));
        List<String> pool = r.evalPool();
        for (QaRetrieval.SiteSplit s : r.sites()) {
            for (QaRetrieval.Pair p : s.test()) {
                assertThat(pool).contains(p.answer());
            }
            for (QaRetrieval.Pair p : s.train()) {
                assertThat(pool).doesNotContain(p.answer());
            }
        }
        assertThat(new HashSet<>(pool)).hasSize(pool.size());
    }

    @Test
    void theSplitDependsOnTheSeedOnly() {
        QaRetrieval one = QaRetrieval.split(data(), new QaRetrieval.Settings(9, 4, 32, 64, 7));
        QaRetrieval two = QaRetrieval.split(data(), new QaRetrieval.Settings(9, 4, 32, 64, 7));
        QaRetrieval other = QaRetrieval.split(data(), new QaRetrieval.Settings(9, 4, 32, 64, 8));
        assertThat(two.sites()).isEqualTo(one.sites());
        assertThat(other.sites()).isNotEqualTo(one.sites());
    }

    @Test
    void aWorkersOneSiteTrainerIsThatSiteOfTheLocalRunsTrainers() throws Exception {
        QaRetrieval r = QaRetrieval.split(data(), new QaRetrieval.Settings(6, 3, 16, 16, 7));
        RetrievalSiteTrainer.Options options =
                new RetrievalSiteTrainer.Options(16, 4, 1, 3e-3, 20, 5);
        try (LoraBert model = QaRetrieval.miniLm(QaRetrieval.defaultLora(1), 3)) {
            Map<String, float[]> start = model.adapterSpec("t", 3).initialValues();
            RetrievalSiteTrainer fromAll = r.trainers(model, options).get(1);
            SiteTrainer.TrainResult expected = fromAll.train(start, 0);
            SiteTrainer.EvalResult expectedEval = fromAll.evaluate(start);
            try (RetrievalSiteTrainer one = r.trainer(1, model, false, options, null)) {
                SiteTrainer.TrainResult got = one.train(start, 0);
                assertThat(got.numExamples()).isEqualTo(expected.numExamples());
                for (String name : expected.delta().keySet()) {
                    assertThat(got.delta().get(name))
                            .containsExactly(expected.delta().get(name), Offset.offset(1e-6f));
                }
                SiteTrainer.EvalResult eval = one.evaluate(start);
                assertThat(eval.examples()).isEqualTo(expectedEval.examples());
                assertThat(eval.accuracy()).isEqualTo(expectedEval.accuracy());
            }
            assertThatThrownBy(() -> r.trainer(2, model, false, options, null))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void documentOfAMedQuadId() {
        assertThat(QaRetrieval.documentOf("0000001_1-3#17")).isEqualTo("0000001_1");
        assertThat(QaRetrieval.documentOf("0000004-1#2")).isEqualTo("0000004");
        assertThat(QaRetrieval.documentOf("plain")).isEqualTo("plain");
    }

    private static Set<String> docs(List<QaRetrieval.Pair> pairs) {
        Set<String> out = new HashSet<>();
        for (QaRetrieval.Pair p : pairs) {
            out.add(p.question().replaceAll(".*disease ", ""));
        }
        return out;
    }
}
