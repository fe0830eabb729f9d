package io.fedstream.cli;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.RetrievalSiteTrainer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.MedQuad;
import io.fedstream.worker.sites.QaRetrieval;
import io.fedstream.worker.sites.SiteTrainers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The default local task: all-MiniLM-L6-v2 with LoRA on its top layers, tuned for MedQuAD
 * question-to-answer retrieval, MedQuAD's NIH websites as the sites ({@link QaRetrieval}). One
 * frozen encoder is shared by every site of the process.
 */
public final class RetrievalLocalTask implements LocalTask {

    /**
     * @param sites how many of MedQuAD's 9 websites take part (the first ones in file order)
     * @param split the data split
     * @param adaptedLayers MiniLM layers (from the top) that carry LoRA
     * @param training each site's local training
     * @param cacheDir where answer embeddings are kept between runs (null: not kept)
     */
    record Settings(
            int sites,
            QaRetrieval.Settings split,
            int adaptedLayers,
            RetrievalSiteTrainer.Options training,
            Path cacheDir) {}

    private final Settings settings;
    private final QaRetrieval task;
    private final LoraBert model;
    private final List<RetrievalSiteTrainer> trainers;
    // a second copy of the frozen encoder for scoring: the sites' trainings hold the first for
    // seconds at a time, and a score waiting behind them would report versions late
    private final LoraBert scoringModel;
    private final List<RetrievalSiteTrainer> scorers;
    private final List<String> siteIds = new ArrayList<>();
    private final String fingerprint;

    RetrievalLocalTask(Path data, Settings settings) throws IOException {
        this.settings = settings;
        List<InstructionExample> all =
                data == null ? MedQuad.readAll() : MedQuad.readAll(MedQuad.locate(data));
        QaRetrieval full = QaRetrieval.split(all, settings.split());
        if (settings.sites() < 1 || settings.sites() > full.sites().size()) {
            throw new IllegalArgumentException(
                    "--sites must be 1 to " + full.sites().size() + " for MedQuAD's websites");
        }
        this.task = full.firstSites(settings.sites());
        this.fingerprint = Integer.toHexString(task.sites().hashCode());
        LoraBert m = null;
        LoraBert sm = null;
        try {
            m =
                    QaRetrieval.miniLm(
                            QaRetrieval.defaultLora(settings.adaptedLayers()),
                            settings.training().seed());
            sm =
                    QaRetrieval.miniLm(
                            QaRetrieval.defaultLora(settings.adaptedLayers()),
                            settings.training().seed());
            this.trainers = task.trainers(m, settings.training(), settings.cacheDir());
            this.scorers = task.trainers(sm, settings.training(), settings.cacheDir());
        } catch (RuntimeException | IOException e) {
            if (m != null) {
                m.close();
            }
            if (sm != null) {
                sm.close();
            }
            throw e;
        }
        this.model = m;
        this.scoringModel = sm;
        for (QaRetrieval.SiteSplit s : task.sites()) {
            siteIds.add(SiteTrainers.siteId(s.name()));
        }
    }

    @Override
    public String description() {
        int train = 0;
        int test = 0;
        for (QaRetrieval.SiteSplit s : task.sites()) {
            train += s.train().size();
            test += s.test().size();
        }
        return String.format(
                Locale.ROOT,
                "all-MiniLM-L6-v2 + LoRA (rank 8, every linear layer of the top %d, %,d values),"
                        + " MedQuAD question-to-answer retrieval: %d training and %d held-out"
                        + " questions over %d sites, ranked against %d answers from every site",
                settings.adaptedLayers(),
                model.adapterSize(),
                train,
                test,
                task.sites().size(),
                task.evalPool().size());
    }

    @Override
    public String cacheKey() {
        // what the baseline is (each site's adapter scored on every site's questions) and the
        // whole LoRA layout are part of the key: a change of either never reads an old number
        return "retrieval-v2/site-alone-on-every-site/"
                + settings.sites()
                + "/"
                + settings.split()
                + "/"
                + QaRetrieval.defaultLora(settings.adaptedLayers())
                + "/"
                + settings.training()
                + "/"
                + fingerprint;
    }

    @Override
    public String metricName() {
        return "recall@1";
    }

    @Override
    public FederationSpec spec(String federationId, long seed) {
        return model.adapterSpec(federationId, seed);
    }

    @Override
    public List<String> siteIds() {
        return List.copyOf(siteIds);
    }

    @Override
    public SiteTrainer trainer(int index) {
        return trainers.get(index);
    }

    @Override
    public Score score(Map<String, float[]> adapter) {
        List<SiteTrainer.EvalResult> rs = new ArrayList<>();
        for (RetrievalSiteTrainer t : scorers) {
            rs.add(t.evaluate(adapter));
        }
        return Score.of(rs);
    }

    /**
     * Every site's own adapter, trained alone, scored as the global adapter is: on the held-out
     * questions of every site (the population of questions the federation's retriever meets), the
     * mean over sites; per site, that score of the site's own adapter.
     */
    @Override
    public Score siteAlone(int rounds) {
        Map<String, float[]> start =
                model.adapterSpec("alone", settings.training().seed()).initialValues();
        List<Double> perSite = new ArrayList<>();
        double metric = 0;
        double loss = 0;
        for (RetrievalSiteTrainer t : scorers) {
            Score s = score(t.trainAlone(start, rounds));
            perSite.add(s.metric());
            metric += s.metric();
            loss += s.loss();
        }
        int n = trainers.size();
        return new Score(metric / n, loss / n, perSite);
    }

    @Override
    public void close() {
        model.close();
        scoringModel.close();
    }
}
