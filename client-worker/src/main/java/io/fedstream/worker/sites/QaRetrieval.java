package io.fedstream.worker.sites;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.bert.BertEncoder;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.LoraConfig;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.RetrievalSiteTrainer;
import io.fedstream.worker.data.ByField;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Partition;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.data.Site;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The federation's default task: question-to-answer retrieval on MedQuAD, its NIH websites as the
 * sites (non-IID by nature: each site asks about its own diseases with its own question templates).
 * A site tunes the question side of all-MiniLM-L6-v2 with LoRA (see {@link RetrievalSiteTrainer})
 * on a few of its own question–answer pairs, and is measured on held-out questions of its own,
 * ranked against the held-out answers of every site.
 *
 * <p>Split, per site, seeded by {@code seed} and the site's name: pairs with an empty question or
 * answer and repeated questions are dropped; {@code testPerSite} questions are held out, then at
 * most {@code trainPerSite} others are for training. Answers with identical text are one key, so a
 * question whose answer text is shared counts as found when that text ranks first.
 *
 * <p>Why this task (docs/experiments.md has the measurements): it is the retriever a hospital would
 * tune for search over its own content; the pretrained encoder leaves room (its recall@1 on
 * MedQuAD's hard negatives, other answers about the same disease, is far from 1); and a site alone
 * has only its own few questions, while every site asks the same kinds of questions (symptoms,
 * causes, treatment) about other diseases, which is what federation can add.
 */
public final class QaRetrieval {

    /** The local run's task: MiniLM layers, from the top, that carry LoRA. */
    public static final int ADAPTED_LAYERS = 3;

    /** The local run's task: question truncation. */
    public static final int QUESTION_TOKENS = 32;

    /** The local run's task: answer truncation. */
    public static final int ANSWER_TOKENS = 64;

    /** The local run's task: questions per step. */
    public static final int BATCH_SIZE = 16;

    /** The local run's task: the contrastive loss' scale (sentence-transformers' 20). */
    public static final double SCALE = 20;

    /**
     * @param trainPerSite training questions per site, at most
     * @param testPerSite held-out questions per site
     * @param questionTokens truncation of questions
     * @param answerTokens truncation of answers (their embedding covers this many tokens)
     * @param seed split seed
     */
    public record Settings(
            int trainPerSite, int testPerSite, int questionTokens, int answerTokens, long seed) {
        public Settings {
            if (trainPerSite < 1 || testPerSite < 1 || questionTokens < 2 || answerTokens < 2) {
                throw new IllegalArgumentException("bad retrieval settings " + this);
            }
        }
    }

    /** One question with its answer's text. */
    public record Pair(String question, String answer) {}

    /**
     * One site's split: training pairs, held-out questions, and the other answers of the held-out
     * documents (candidates in the evaluation pool, not asked).
     */
    public record SiteSplit(
            String name, List<Pair> train, List<Pair> test, List<Pair> heldOutDistractors) {}

    private final Settings settings;
    private final List<SiteSplit> sites;

    private QaRetrieval(Settings settings, List<SiteSplit> sites) {
        this.settings = settings;
        this.sites = List.copyOf(sites);
    }

    /**
     * Splits {@code all} by {@code source} (sites in order of first appearance), holding out whole
     * documents (all questions about one disease page) per site.
     */
    public static QaRetrieval split(List<InstructionExample> all, Settings settings) {
        Partition bySource = ByField.of(InstructionExample.SOURCE).partition(all);
        List<SiteSplit> out = new ArrayList<>();
        for (Site s : bySource.sites()) {
            Map<String, List<Pair>> docs = new LinkedHashMap<>();
            LinkedHashSet<String> seen = new LinkedHashSet<>();
            for (InstructionExample e : s.examples()) {
                String q = e.instruction().strip();
                String a = e.output().strip();
                if (!q.isEmpty() && !a.isEmpty() && seen.add(q)) {
                    docs.computeIfAbsent(documentOf(e.id()), k -> new ArrayList<>())
                            .add(new Pair(q, a));
                }
            }
            List<List<Pair>> order = new ArrayList<>(docs.values());
            int[] perm = Sampling.range(order.size());
            Sampling.shuffle(
                    perm,
                    new SplittableRandom(
                            Sampling.streamSeed(settings.seed(), s.name().hashCode())));
            int total = seen.size();
            int testTarget = Math.min(settings.testPerSite(), total / 2);
            List<Pair> test = new ArrayList<>();
            List<Pair> distractors = new ArrayList<>();
            List<Pair> train = new ArrayList<>();
            int d = 0;
            for (; d < perm.length && test.size() < testTarget; d++) {
                for (Pair p : order.get(perm[d])) {
                    (test.size() < testTarget ? test : distractors).add(p);
                }
            }
            for (; d < perm.length && train.size() < settings.trainPerSite(); d++) {
                for (Pair p : order.get(perm[d])) {
                    if (train.size() < settings.trainPerSite()) {
                        train.add(p);
                    }
                }
            }
            out.add(new SiteSplit(s.name(), train, test, distractors));
        }
        return new QaRetrieval(settings, out);
    }

    /**
     * The document of a MedQuAD example id ({@code 0000001_1-3#line}: document {@code 0000001_1},
     * question 3), or the id itself where it has no such form.
     */
    static String documentOf(String id) {
        int hash = id.indexOf('#');
        String base = hash >= 0 ? id.substring(0, hash) : id;
        int dash = base.lastIndexOf('-');
        return dash > 0 ? base.substring(0, dash) : base;
    }

    private static List<Pair> pick(List<Pair> xs, int[] idx) {
        List<Pair> out = new ArrayList<>(idx.length);
        for (int i : idx) {
            out.add(xs.get(i));
        }
        return out;
    }

    /** The same split restricted to the first {@code n} sites (the pool shrinks with them). */
    public QaRetrieval firstSites(int n) {
        return new QaRetrieval(settings, sites.subList(0, Math.min(n, sites.size())));
    }

    public Settings settings() {
        return settings;
    }

    public List<SiteSplit> sites() {
        return sites;
    }

    /**
     * The pool every site's held-out questions are ranked against: the distinct answers of every
     * site's held-out documents, so each question competes with the other answers about the same
     * disease and with every other site's answers.
     */
    public List<String> evalPool() {
        LinkedHashSet<String> pool = new LinkedHashSet<>();
        for (SiteSplit s : sites) {
            for (Pair p : s.test()) {
                pool.add(p.answer());
            }
            for (Pair p : s.heldOutDistractors()) {
                pool.add(p.answer());
            }
        }
        return List.copyOf(pool);
    }

    /**
     * The LoRA layout of the default task: rank 8, α 16, dropout 0.05 on every linear layer (query,
     * key, value, attention output and both feed-forward layers) of the top {@code layers} layers
     * of MiniLM; the layers below are frozen and cached. Measured against query and value only
     * (docs/experiments.md): the feed-forward adapters let one global adapter serve every site's
     * question templates.
     */
    public static LoraConfig defaultLora(int layers) {
        return new LoraConfig(8, 16, 0.05, java.util.EnumSet.allOf(LoraConfig.Target.class))
                .withFromLayer(6 - layers);
    }

    /** The local run's split: {@link #QUESTION_TOKENS} and {@link #ANSWER_TOKENS} truncation. */
    public static Settings localSettings(int trainPerSite, int testPerSite, long seed) {
        return new Settings(trainPerSite, testPerSite, QUESTION_TOKENS, ANSWER_TOKENS, seed);
    }

    /** The local run's training: {@link #BATCH_SIZE} questions per step, scale {@link #SCALE}. */
    public static RetrievalSiteTrainer.Options localTraining(
            int localEpochs, double learningRate, long seed) {
        return new RetrievalSiteTrainer.Options(
                QUESTION_TOKENS, BATCH_SIZE, localEpochs, learningRate, SCALE, seed);
    }

    /** all-MiniLM-L6-v2 as a bare encoder with {@code lora}; version 0 of {@code seed}. */
    public static LoraBert miniLm(LoraConfig lora, long seed) throws IOException {
        return new LoraBert(BertEncoder.miniLm(lora), seed);
    }

    /**
     * One trainer per site on one shared model (the model is not closed by them): the answer
     * embeddings of every site's training answers and of the evaluation pool are computed once here
     * by the frozen base model.
     */
    public List<RetrievalSiteTrainer> trainers(
            LoraBert model, RetrievalSiteTrainer.Options options) {
        return trainers(model, options, null);
    }

    /**
     * {@link #trainers(LoraBert, RetrievalSiteTrainer.Options)}, keeping the answer embeddings in
     * {@code cacheDir} (when not null) under a name derived from their SHA-256 key (the model, the
     * truncation and every answer text), as a search index is built once: a later run with the same
     * data skips the encoding.
     */
    public List<RetrievalSiteTrainer> trainers(
            LoraBert model, RetrievalSiteTrainer.Options options, java.nio.file.Path cacheDir) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < sites.size(); i++) {
            all.add(i);
        }
        return trainers(model, false, options, cacheDir, all);
    }

    /**
     * The trainer of site {@code index} alone, as {@link #trainers(LoraBert,
     * RetrievalSiteTrainer.Options, java.nio.file.Path)} makes it (same keys, same seed), for a
     * worker that runs one site; closes {@code model} when closed if {@code ownsModel}.
     */
    public RetrievalSiteTrainer trainer(
            int index,
            LoraBert model,
            boolean ownsModel,
            RetrievalSiteTrainer.Options options,
            java.nio.file.Path cacheDir) {
        if (index < 0 || index >= sites.size()) {
            throw new IllegalArgumentException(
                    "site index " + index + " must be in [0, " + sites.size() + ")");
        }
        return trainers(model, ownsModel, options, cacheDir, List.of(index)).get(0);
    }

    private List<RetrievalSiteTrainer> trainers(
            LoraBert model,
            boolean ownsModel,
            RetrievalSiteTrainer.Options options,
            java.nio.file.Path cacheDir,
            List<Integer> which) {
        try (HuggingFaceTokenizer questions = MiniLm.tokenizer(settings.questionTokens());
                HuggingFaceTokenizer answers = MiniLm.tokenizer(settings.answerTokens())) {
            List<String> pool = evalPool();
            Map<String, Integer> poolIndex = index(pool);
            List<String> trainTexts = new ArrayList<>();
            for (SiteSplit s : sites) {
                for (Pair p : s.train()) {
                    trainTexts.add(p.answer());
                }
            }
            List<String> all = new ArrayList<>(pool);
            all.addAll(trainTexts);
            List<String> distinct = List.copyOf(new LinkedHashSet<>(all));
            float[] embedded =
                    EmbeddingCache.getOrCompute(
                            cacheDir,
                            MiniLm.ONNX_RESOURCE + "/" + settings.answerTokens(),
                            distinct,
                            model.config().hiddenSize(),
                            () ->
                                    RetrievalSiteTrainer.embedKeys(
                                            model, answers, distinct, settings.answerTokens()));
            int h = model.config().hiddenSize();
            Map<String, Integer> at = index(distinct);
            float[] poolKeys = rows(embedded, h, pool, at);
            List<RetrievalSiteTrainer> out = new ArrayList<>();
            for (int i : which) {
                SiteSplit s = sites.get(i);
                List<String> local = distinctAnswers(s.train());
                Map<String, Integer> localIndex = index(local);
                RetrievalSiteTrainer.Queries train =
                        new RetrievalSiteTrainer.Queries(
                                questions(s.train()),
                                answerIndices(s.train(), localIndex),
                                rows(embedded, h, local, at));
                RetrievalSiteTrainer.Queries test =
                        new RetrievalSiteTrainer.Queries(
                                questions(s.test()), answerIndices(s.test(), poolIndex), poolKeys);
                out.add(
                        new RetrievalSiteTrainer(
                                model,
                                ownsModel,
                                questions,
                                train,
                                test,
                                new RetrievalSiteTrainer.Options(
                                        options.maxTokens(),
                                        options.batchSize(),
                                        options.localEpochs(),
                                        options.learningRate(),
                                        options.scale(),
                                        Sampling.streamSeed(options.seed(), i))));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Centralised training's trainer: every site's training questions in one trainer whose
     * candidates are every site's training answers, evaluated on the held-out questions of the
     * first site (callers score with the per-site trainers).
     */
    public RetrievalSiteTrainer centralTrainer(
            LoraBert model, RetrievalSiteTrainer.Options options, java.nio.file.Path cacheDir) {
        List<Pair> union = new ArrayList<>();
        for (SiteSplit s : sites) {
            union.addAll(s.train());
        }
        QaRetrieval one =
                new QaRetrieval(
                        settings,
                        List.of(
                                new SiteSplit(
                                        "central",
                                        union,
                                        sites.get(0).test(),
                                        sites.get(0).heldOutDistractors())));
        return one.trainers(model, options, cacheDir).get(0);
    }

    private static List<String> distinctAnswers(List<Pair> pairs) {
        LinkedHashSet<String> set = new LinkedHashSet<>();
        for (Pair p : pairs) {
            set.add(p.answer());
        }
        return List.copyOf(set);
    }

    private static List<String> questions(List<Pair> pairs) {
        return pairs.stream().map(Pair::question).toList();
    }

    private static int[] answerIndices(List<Pair> pairs, Map<String, Integer> index) {
        int[] out = new int[pairs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = index.get(pairs.get(i).answer());
        }
        return out;
    }

    private static Map<String, Integer> index(List<String> texts) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < texts.size(); i++) {
            m.putIfAbsent(texts.get(i), i);
        }
        return m;
    }

    private static float[] rows(
            float[] embedded, int h, List<String> texts, Map<String, Integer> at) {
        float[] out = new float[texts.size() * h];
        for (int i = 0; i < texts.size(); i++) {
            System.arraycopy(embedded, at.get(texts.get(i)) * h, out, i * h, h);
        }
        return out;
    }
}
