package io.fedstream.lab.experiment;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.aggregation.WeightedAccumulator;
import io.fedstream.aggregation.round.RoundRules;
import io.fedstream.lab.lora.FactorAveraging;
import io.fedstream.lab.lora.FrozenAAveraging;
import io.fedstream.lab.lora.LoraAggregation;
import io.fedstream.lab.lora.LoraPairs;
import io.fedstream.lab.lora.LoraRound;
import io.fedstream.lab.lora.LoraUpdate;
import io.fedstream.lab.lora.PairReport;
import io.fedstream.lab.lora.ProductAveraging;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.bert.BertClassifier;
import io.fedstream.worker.bert.BertEncoder;
import io.fedstream.worker.bert.BertSiteTrainer;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.LoraConfig;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Partition;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.data.Site;
import io.fedstream.worker.sites.SiteTrainers;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * FedIT's question (Zhang et al. 2023, "Towards building the federated GPT"), scaled down: do sites
 * with small, heterogeneous instruction data do better together than alone? Every site classifies
 * its instructions (MedQuAD questions → question type) with the pretrained all-MiniLM-L6-v2 encoder
 * plus LoRA and a linear head ({@link BertSiteTrainer}); four ways to train are compared on every
 * site's own held-out examples:
 *
 * <ul>
 *   <li>{@code local}: every site alone, {@code rounds} rounds of {@code localEpochs} epochs from
 *       version 0 (each round continues from the site's own adapter, fresh Adam moments, exactly
 *       like a one-site federation);
 *   <li>{@code fedavg}: synchronous FedAvg, {@code rounds} rounds in which every site trains {@code
 *       localEpochs} epochs from the global adapter; new global = global + η Σ nᵢΔᵢ / Σ nᵢ with η =
 *       1 ({@link WeightedAccumulator});
 *   <li>{@code async}: buffered asynchronous aggregation with staleness weighting: site {@code i}
 *       (0-based) needs {@code 1 + i % 3} ticks per local round (same {@code localEpochs}); it
 *       trains from the global version current when it started and submits its delta with that base
 *       version at the end. Submissions are buffered; when {@code quorum} are buffered, they are
 *       aggregated with weights {@code nᵢ · (1 + sᵢ)^-a} (sᵢ = current version − base version, a =
 *       {@code stalenessExponent}), η = 1, and the version advances. Within a tick, sites are
 *       handled in index order; a site that just submitted restarts from the (possibly new) current
 *       version. The run lasts {@code ticks} ticks; updates left in the buffer at the end are
 *       dropped;
 *   <li>{@code central}: one model trained on the union of all sites' training examples, {@code
 *       rounds × localEpochs} epochs (in {@code rounds} calls, fresh Adam moments each, as above).
 * </ul>
 *
 * All models start from the same version 0 (LoRA {@code B = 0}, head {@code N(0, 0.02)}) of the
 * same seed; one copy of the frozen encoder is shared by all trainers.
 *
 * <p>Over 600 lines: one experiment's protocol, read top to bottom beside its section of
 * docs/experiments.md (lab code, not shipped to sites).
 */
final class FedItExperiment {
    static final List<String> METHODS =
            List.of("local", "fedavg", "async", "central", "factor-mean", "ffa", "product");

    /** The experiment's knobs. */
    record Settings(
            int rounds,
            int localEpochs,
            int batchSize,
            int maxTokens,
            double learningRate,
            int rank,
            double alpha,
            double dropout,
            String targets,
            int quorum,
            int ticks,
            double stalenessExponent,
            long seed,
            List<String> methods,
            int fromLayer,
            boolean fastTraining) {

        /** {@code quorum} or, if 0, half the sites rounded up. */
        int quorumFor(int sites) {
            return quorum > 0 ? quorum : (sites + 1) / 2;
        }

        /**
         * {@code ticks} or, if 0, the number of ticks in which the asynchronous sites run about as
         * many local rounds as synchronous FedAvg does ({@code rounds × sites}).
         */
        int ticksFor(int sites) {
            if (ticks > 0) {
                return ticks;
            }
            double roundsPerTick = 0;
            for (int i = 0; i < sites; i++) {
                roundsPerTick += 1.0 / period(i);
            }
            return (int) Math.max(1, Math.round(rounds * sites / roundsPerTick));
        }
    }

    /** One site's held-out result under one method. */
    record SiteScore(
            String site, int trainExamples, int testExamples, double loss, double accuracy) {}

    /** Mean held-out quality over sites after an aggregation (or local round). */
    record CurvePoint(String method, int step, long siteRounds, double loss, double accuracy) {}

    /** One method's outcome. */
    /**
     * @param loraGap for the LoRA aggregation methods, the mean over rounds and adapted layers of
     *     ‖B'·A' − M‖_F / ‖M‖_F (M = the weighted mean of the sites' products Bᵢ·Aᵢ, B', A' the
     *     aggregated factors); NaN where not measured
     */
    record MethodResult(
            String method,
            List<SiteScore> sites,
            long siteRounds,
            long steps,
            long millis,
            double loraGap) {
        MethodResult(
                String method, List<SiteScore> sites, long siteRounds, long steps, long millis) {
            this(method, sites, siteRounds, steps, millis, Double.NaN);
        }

        double meanAccuracy() {
            return sites.stream().mapToDouble(SiteScore::accuracy).average().orElse(Double.NaN);
        }

        double meanLoss() {
            return sites.stream().mapToDouble(SiteScore::loss).average().orElse(Double.NaN);
        }
    }

    /** The whole run. */
    record Result(
            List<String> labels,
            List<String> sites,
            List<SiteScore> initial,
            List<MethodResult> methods,
            List<CurvePoint> curve,
            String notes) {}

    private FedItExperiment() {}

    /** Ticks per local round of site {@code i} in the asynchronous run. */
    static int period(int i) {
        return 1 + i % 3;
    }

    /**
     * Per site, a fixed held-out set of {@code testPerSite} examples and a training set of at most
     * {@code trainCap} other examples, both drawn uniformly (seeded by {@code seed} and the site's
     * name) and kept in the original order. The test set does not depend on {@code trainCap}.
     */
    static Partition[] split(Partition all, int testPerSite, int trainCap, long seed) {
        return SiteTrainers.split(all, testPerSite, trainCap, seed);
    }

    static String label(InstructionExample e, String labelField) {
        return SiteTrainers.label(e, labelField);
    }

    /**
     * Runs the methods of {@code s} on the given sites (train and test partitions with the same
     * sites in the same order), text = the instruction, label = {@code labelField}.
     */
    static Result run(
            Settings s, Partition train, Partition test, String labelField, PrintStream log)
            throws IOException {
        if (!train.names().equals(test.names())) {
            throw new IllegalArgumentException("train and test must have the same sites");
        }
        TreeSet<String> labelSet = new TreeSet<>();
        for (Partition p : List.of(train, test)) {
            for (Site site : p.sites()) {
                site.examples().forEach(e -> labelSet.add(label(e, labelField)));
            }
        }
        List<String> labels = List.copyOf(labelSet);
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            index.put(labels.get(i), i);
        }
        List<String> sites = train.names();
        int n = sites.size();

        LoraConfig lora =
                new LoraConfig(
                                s.rank(),
                                s.alpha(),
                                s.dropout(),
                                LoraConfig.parseTargets(s.targets()))
                        .withFromLayer(s.fromLayer());
        List<MethodResult> results = new ArrayList<>();
        List<CurvePoint> curve = new ArrayList<>();
        List<SiteScore> initial;
        StringBuilder notes = new StringBuilder();
        List<AutoCloseable> cleanup = new ArrayList<>();
        try (Closer closer = new Closer(cleanup);
                HuggingFaceTokenizer tokenizer = MiniLm.tokenizer(s.maxTokens());
                LoraBert model =
                        new LoraBert(
                                new BertClassifier(BertEncoder.miniLm(lora), labels.size()),
                                s.seed())) {
            Map<String, float[]> v0 = model.adapterSpec("fedit", s.seed()).initialValues();
            List<String> order = model.adapterNames();
            log.printf(
                    Locale.ROOT,
                    "model: all-MiniLM-L6-v2 + LoRA %s + head (%d classes): %d trainable values%n",
                    lora,
                    labels.size(),
                    model.adapterSize());

            LazyModel frozenA =
                    new LazyModel(
                            () -> {
                                try {
                                    return new LoraBert(
                                            new BertClassifier(
                                                    BertEncoder.miniLm(lora.withFreezeA(true)),
                                                    labels.size()),
                                            s.seed());
                                } catch (IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            });
            cleanup.add(frozenA);
            Supplier<List<BertSiteTrainer>> siteTrainers =
                    () -> siteTrainers(model, tokenizer, train, test, labelField, index, s);
            List<BertSiteTrainer> evaluators = siteTrainers.get();
            notes.append(tokenStats(evaluators, s.maxTokens()));
            log.println(notes);

            initial = scores(evaluators, i -> v0, sites);
            log.printf(
                    Locale.ROOT,
                    "version 0 (untrained head): mean accuracy %.3f, loss %.3f%n",
                    mean(initial, true),
                    mean(initial, false));

            for (String method : s.methods()) {
                long t0 = System.nanoTime();
                log.printf(Locale.ROOT, "== %s ==%n", method);
                MethodResult r =
                        switch (method) {
                            case "local" ->
                                    local(s, siteTrainers.get(), evaluators, v0, sites, curve, log);
                            case "fedavg" ->
                                    fedAvg(
                                            s,
                                            siteTrainers.get(),
                                            evaluators,
                                            v0,
                                            order,
                                            sites,
                                            curve,
                                            log);
                            case "async" ->
                                    async(
                                            s,
                                            siteTrainers.get(),
                                            evaluators,
                                            v0,
                                            order,
                                            sites,
                                            curve,
                                            log);
                            case "factor-mean", "ffa", "product" ->
                                    loraFedAvg(
                                            method,
                                            s,
                                            method.equals("ffa")
                                                    ? siteTrainers(
                                                            frozenA.get(),
                                                            tokenizer,
                                                            train,
                                                            test,
                                                            labelField,
                                                            index,
                                                            s)
                                                    : siteTrainers.get(),
                                            evaluators,
                                            v0,
                                            order,
                                            sites,
                                            curve,
                                            log);
                            case "central" ->
                                    central(
                                            s,
                                            model,
                                            tokenizer,
                                            train,
                                            labelField,
                                            index,
                                            evaluators,
                                            v0,
                                            sites,
                                            curve,
                                            log);
                            default ->
                                    throw new IllegalArgumentException(
                                            "unknown method " + method + "; one of " + METHODS);
                        };
                long millis = (System.nanoTime() - t0) / 1_000_000;
                r =
                        new MethodResult(
                                r.method(),
                                r.sites(),
                                r.siteRounds(),
                                r.steps(),
                                millis,
                                r.loraGap());
                log.printf(
                        Locale.ROOT,
                        "%s: mean accuracy %.3f, mean loss %.3f (%d local rounds, %d steps,"
                                + " %.1f s)%n",
                        method,
                        r.meanAccuracy(),
                        r.meanLoss(),
                        r.siteRounds(),
                        r.steps(),
                        millis / 1000.0);
                results.add(r);
            }
        }
        return new Result(labels, sites, initial, results, curve, notes.toString());
    }

    /** A model built on first use (MiniLM is loaded only for the methods that need it). */
    private static final class LazyModel implements AutoCloseable {
        private final Supplier<LoraBert> factory;
        private LoraBert model;

        LazyModel(Supplier<LoraBert> factory) {
            this.factory = factory;
        }

        LoraBert get() {
            if (model == null) {
                model = factory.get();
            }
            return model;
        }

        @Override
        public void close() {
            if (model != null) {
                model.close();
            }
        }
    }

    /** Closes what was registered, last first. */
    private record Closer(List<AutoCloseable> things) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            for (int i = things.size() - 1; i >= 0; i--) {
                try {
                    things.get(i).close();
                } catch (Exception e) {
                    throw new IOException("closing " + things.get(i), e);
                }
            }
        }
    }

    private static List<BertSiteTrainer> siteTrainers(
            LoraBert model,
            HuggingFaceTokenizer tokenizer,
            Partition train,
            Partition test,
            String labelField,
            Map<String, Integer> index,
            Settings s) {
        List<BertSiteTrainer> ts = new ArrayList<>();
        for (int i = 0; i < train.numSites(); i++) {
            ts.add(
                    new BertSiteTrainer(
                            model,
                            false,
                            tokenizer,
                            labelled(train.sites().get(i), labelField, index),
                            labelled(test.sites().get(i), labelField, index),
                            options(s, Sampling.streamSeed(s.seed(), i))));
        }
        return ts;
    }

    /**
     * Synchronous FedAvg rounds whose LoRA pairs are aggregated by a {@link LoraAggregation}
     * ({@link LoraRound}, on the sites' full adapters): {@code factor-mean} averages A and B
     * separately (what {@code fedavg} does, here with the gap to the product mean measured), {@code
     * ffa} trains with A frozen (FFA-LoRA) and averages B, exact; {@code product} averages the
     * products and re-factorises them to the sites' rank by SVD (exact up to truncation).
     */
    private static MethodResult loraFedAvg(
            String method,
            Settings s,
            List<BertSiteTrainer> trainers,
            List<BertSiteTrainer> evaluators,
            Map<String, float[]> v0,
            List<String> order,
            List<String> sites,
            List<CurvePoint> curve,
            PrintStream log) {
        LoraAggregation strategy =
                switch (method) {
                    case "factor-mean" -> new FactorAveraging(true);
                    case "ffa" -> new FrozenAAveraging();
                    case "product" -> ProductAveraging.sameRank(ProductAveraging.Split.BALANCED);
                    default -> throw new IllegalArgumentException(method);
                };
        List<int[]> shapes = new ArrayList<>();
        for (String name : order) {
            shapes.add(
                    trainers.get(0).model().adapterSpec("fedit", s.seed()).tensors().stream()
                            .filter(t -> t.name().equals(name))
                            .findFirst()
                            .orElseThrow()
                            .shape());
        }
        LoraPairs pairs = LoraPairs.find(order, shapes);
        int n = trainers.size();
        Map<String, float[]> global = v0;
        long steps = 0;
        double gapSum = 0;
        int gapCount = 0;
        for (int r = 0; r < s.rounds(); r++) {
            float[][] base = new float[order.size()][];
            for (int t = 0; t < base.length; t++) {
                base[t] = global.get(order.get(t));
            }
            List<LoraUpdate> updates = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                SiteTrainer.TrainResult res = trainers.get(i).train(global, r);
                float[][] delta = new float[order.size()][];
                for (int t = 0; t < delta.length; t++) {
                    delta[t] = res.delta().get(order.get(t));
                }
                updates.add(
                        LoraUpdate.fromDelta(
                                String.format(Locale.ROOT, "site-%03d", i),
                                base,
                                delta,
                                res.numExamples()));
                steps += res.metrics().get(BertSiteTrainer.STEPS).longValue();
            }
            LoraRound.Result agg = LoraRound.aggregate(strategy, pairs, updates);
            Map<String, float[]> next = new LinkedHashMap<>();
            for (int t = 0; t < order.size(); t++) {
                double[] v = agg.tensors()[t];
                float[] f = new float[v.length];
                for (int j = 0; j < v.length; j++) {
                    f[j] = (float) v[j];
                }
                next.put(order.get(t), f);
            }
            global = next;
            double roundGap = 0;
            int measured = 0;
            for (PairReport p : agg.reports()) {
                if (!Double.isNaN(p.relativeError())) {
                    roundGap += p.relativeError();
                    measured++;
                }
            }
            if (measured > 0) {
                gapSum += roundGap / measured;
                gapCount++;
            }
            Map<String, float[]> g = global;
            point(curve, method, r + 1, (long) (r + 1) * n, scores(evaluators, i -> g, sites), log);
            if (measured > 0) {
                log.printf(
                        Locale.ROOT,
                        "  %s round %d: mean |B'A' - mean(B_i A_i)| / |mean(B_i A_i)| = %.3g%n",
                        method,
                        r + 1,
                        roundGap / measured);
            }
        }
        Map<String, float[]> g = global;
        return new MethodResult(
                method,
                scores(evaluators, i -> g, sites),
                (long) s.rounds() * n,
                steps,
                0,
                gapCount == 0 ? Double.NaN : gapSum / gapCount);
    }

    private static BertSiteTrainer.Options options(Settings s, long seed) {
        return new BertSiteTrainer.Options(
                        s.maxTokens(), s.batchSize(), s.localEpochs(), s.learningRate(), seed)
                .withSpeedups(s.fastTraining(), s.fastTraining());
    }

    static BertSiteTrainer.Labelled labelled(
            Site site, String labelField, Map<String, Integer> index) {
        return SiteTrainers.labelled(site, labelField, index);
    }

    private static String tokenStats(List<BertSiteTrainer> ts, int maxTokens) {
        List<Integer> all = new ArrayList<>();
        for (BertSiteTrainer t : ts) {
            for (int c : t.trainTokenCounts()) {
                all.add(c);
            }
        }
        all.sort(null);
        long atMax = all.stream().filter(c -> c >= maxTokens).count();
        return String.format(
                Locale.ROOT,
                "training questions: %d, tokens (with [CLS]/[SEP], after truncation to %d):"
                        + " median %d, p95 %d, max %d; %d (%.1f%%) at the limit",
                all.size(),
                maxTokens,
                all.get(all.size() / 2),
                all.get((int) Math.min(all.size() - 1, Math.round(0.95 * (all.size() - 1)))),
                all.get(all.size() - 1),
                atMax,
                100.0 * atMax / all.size());
    }

    private interface AdapterOf {
        Map<String, float[]> site(int i);
    }

    private static List<SiteScore> scores(
            List<BertSiteTrainer> evaluators, AdapterOf adapter, List<String> sites) {
        List<SiteScore> out = new ArrayList<>();
        for (int i = 0; i < evaluators.size(); i++) {
            BertSiteTrainer t = evaluators.get(i);
            SiteTrainer.EvalResult r = t.evaluate(adapter.site(i));
            out.add(
                    new SiteScore(
                            sites.get(i),
                            t.numTrainExamples(),
                            t.numEvalExamples(),
                            r.loss(),
                            r.accuracy()));
        }
        return out;
    }

    static double mean(List<SiteScore> xs, boolean accuracy) {
        return xs.stream()
                .mapToDouble(x -> accuracy ? x.accuracy() : x.loss())
                .average()
                .orElse(Double.NaN);
    }

    private static void point(
            List<CurvePoint> curve,
            String method,
            int step,
            long siteRounds,
            List<SiteScore> scores,
            PrintStream log) {
        CurvePoint p =
                new CurvePoint(method, step, siteRounds, mean(scores, false), mean(scores, true));
        curve.add(p);
        log.printf(
                Locale.ROOT,
                "  %s step %d (%d local rounds): mean held-out accuracy %.3f, loss %.3f%n",
                method,
                step,
                siteRounds,
                p.accuracy(),
                p.loss());
    }

    private static MethodResult local(
            Settings s,
            List<BertSiteTrainer> trainers,
            List<BertSiteTrainer> evaluators,
            Map<String, float[]> v0,
            List<String> sites,
            List<CurvePoint> curve,
            PrintStream log) {
        int n = trainers.size();
        List<Map<String, float[]>> adapters = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            adapters.add(v0);
        }
        long steps = 0;
        for (int r = 0; r < s.rounds(); r++) {
            for (int i = 0; i < n; i++) {
                SiteTrainer.TrainResult res = trainers.get(i).train(adapters.get(i), r);
                adapters.set(i, Adapters.apply(adapters.get(i), res.delta()));
                steps += res.metrics().get(BertSiteTrainer.STEPS).longValue();
            }
            point(
                    curve,
                    "local",
                    r + 1,
                    (long) (r + 1) * n,
                    scores(evaluators, adapters::get, sites),
                    log);
        }
        return new MethodResult(
                "local", scores(evaluators, adapters::get, sites), (long) s.rounds() * n, steps, 0);
    }

    private static MethodResult fedAvg(
            Settings s,
            List<BertSiteTrainer> trainers,
            List<BertSiteTrainer> evaluators,
            Map<String, float[]> v0,
            List<String> order,
            List<String> sites,
            List<CurvePoint> curve,
            PrintStream log) {
        int n = trainers.size();
        Map<String, float[]> global = v0;
        long steps = 0;
        for (int r = 0; r < s.rounds(); r++) {
            WeightedAccumulator acc = accumulator(global, order);
            for (int i = 0; i < n; i++) {
                SiteTrainer.TrainResult res = trainers.get(i).train(global, r);
                acc.add(bytes(res.delta(), order), kinds(order.size()), res.numExamples());
                steps += res.metrics().get(BertSiteTrainer.STEPS).longValue();
            }
            global = apply(acc, global, order);
            Map<String, float[]> g = global;
            point(
                    curve,
                    "fedavg",
                    r + 1,
                    (long) (r + 1) * n,
                    scores(evaluators, i -> g, sites),
                    log);
        }
        Map<String, float[]> g = global;
        return new MethodResult(
                "fedavg", scores(evaluators, i -> g, sites), (long) s.rounds() * n, steps, 0);
    }

    private record Pending(int site, long staleness, Map<String, float[]> delta, long examples) {}

    private static MethodResult async(
            Settings s,
            List<BertSiteTrainer> trainers,
            List<BertSiteTrainer> evaluators,
            Map<String, float[]> v0,
            List<String> order,
            List<String> sites,
            List<CurvePoint> curve,
            PrintStream log) {
        int n = trainers.size();
        int quorum = s.quorumFor(n);
        int ticks = s.ticksFor(n);
        StalenessFunction staleness = new StalenessFunction.Polynomial(s.stalenessExponent());
        // the job's round rules; no deadline (the run counts ticks, not time), no staleness limit
        RoundRules rules = new RoundRules(quorum, Long.MAX_VALUE, quorum, Long.MAX_VALUE);
        log.printf(
                Locale.ROOT,
                "async: %d ticks, site i needs 1 + i %% 3 ticks per round, quorum %d, weight ="
                        + " examples * %s%n",
                ticks,
                quorum,
                staleness.describe());
        Map<String, float[]> global = v0;
        long version = 0;
        List<Map<String, float[]>> startAdapter = new ArrayList<>();
        long[] startVersion = new long[n];
        int[] finish = new int[n];
        for (int i = 0; i < n; i++) {
            startAdapter.add(v0);
            finish[i] = period(i);
        }
        List<Pending> buffer = new ArrayList<>();
        long siteRounds = 0;
        long steps = 0;
        long stalenessSum = 0;
        long maxStaleness = 0;
        long aggregated = 0;
        for (int t = 1; t <= ticks; t++) {
            for (int i = 0; i < n; i++) {
                if (finish[i] != t) {
                    continue;
                }
                SiteTrainer.TrainResult res =
                        trainers.get(i).train(startAdapter.get(i), startVersion[i]);
                steps += res.metrics().get(BertSiteTrainer.STEPS).longValue();
                siteRounds++;
                if (rules.admit(version, startVersion[i])
                        instanceof RoundRules.Admission.Admitted a) {
                    buffer.add(new Pending(i, a.staleness(), res.delta(), res.numExamples()));
                }
                if (rules.afterAdmission(buffer.size(), false) == RoundRules.Close.QUORUM) {
                    WeightedAccumulator acc = accumulator(global, order);
                    for (Pending p : buffer) {
                        long st = p.staleness();
                        stalenessSum += st;
                        maxStaleness = Math.max(maxStaleness, st);
                        aggregated++;
                        acc.add(
                                bytes(p.delta(), order),
                                kinds(order.size()),
                                p.examples() * staleness.apply(st));
                    }
                    buffer.clear();
                    global = apply(acc, global, order);
                    version++;
                    Map<String, float[]> g = global;
                    point(
                            curve,
                            "async",
                            (int) version,
                            siteRounds,
                            scores(evaluators, k -> g, sites),
                            log);
                }
                startAdapter.set(i, global);
                startVersion[i] = version;
                finish[i] = t + period(i);
            }
        }
        log.printf(
                Locale.ROOT,
                "async: %d versions from %d updates (mean staleness %.2f, max %d); %d updates"
                        + " left in the buffer dropped%n",
                version,
                aggregated,
                aggregated == 0 ? 0.0 : (double) stalenessSum / aggregated,
                maxStaleness,
                buffer.size());
        Map<String, float[]> g = global;
        return new MethodResult("async", scores(evaluators, k -> g, sites), siteRounds, steps, 0);
    }

    private static MethodResult central(
            Settings s,
            LoraBert model,
            HuggingFaceTokenizer tokenizer,
            Partition train,
            String labelField,
            Map<String, Integer> index,
            List<BertSiteTrainer> evaluators,
            Map<String, float[]> v0,
            List<String> sites,
            List<CurvePoint> curve,
            PrintStream log) {
        List<InstructionExample> union = new ArrayList<>();
        train.sites().forEach(site -> union.addAll(site.examples()));
        Map<String, float[]> adapter = v0;
        long steps = 0;
        try (BertSiteTrainer trainer =
                new BertSiteTrainer(
                        model,
                        false,
                        tokenizer,
                        labelled(new Site("all", union), labelField, index),
                        new BertSiteTrainer.Labelled(List.of(), new int[0]),
                        options(s, Sampling.streamSeed(s.seed(), -1)))) {
            for (int r = 0; r < s.rounds(); r++) {
                SiteTrainer.TrainResult res = trainer.train(adapter, r);
                adapter = Adapters.apply(adapter, res.delta());
                steps += res.metrics().get(BertSiteTrainer.STEPS).longValue();
                Map<String, float[]> a = adapter;
                point(curve, "central", r + 1, r + 1, scores(evaluators, k -> a, sites), log);
            }
        }
        Map<String, float[]> a = adapter;
        return new MethodResult("central", scores(evaluators, k -> a, sites), s.rounds(), steps, 0);
    }

    static WeightedAccumulator accumulator(Map<String, float[]> like, List<String> order) {
        int[] sizes = new int[order.size()];
        for (int t = 0; t < sizes.length; t++) {
            sizes[t] = like.get(order.get(t)).length;
        }
        return new WeightedAccumulator(sizes);
    }

    static byte[][] bytes(Map<String, float[]> delta, List<String> order) {
        byte[][] out = new byte[order.size()][];
        for (int t = 0; t < out.length; t++) {
            out[t] = LittleEndianFloats.fromFloats(delta.get(order.get(t)));
        }
        return out;
    }

    static LittleEndianFloats.Kind[] kinds(int n) {
        LittleEndianFloats.Kind[] k = new LittleEndianFloats.Kind[n];
        Arrays.fill(k, LittleEndianFloats.Kind.FLOAT32);
        return k;
    }

    /** global + 1 · Σ wᵢΔᵢ / Σ wᵢ (server learning rate η = 1). */
    static Map<String, float[]> apply(
            WeightedAccumulator acc, Map<String, float[]> global, List<String> order) {
        float[][] base = new float[order.size()][];
        for (int t = 0; t < base.length; t++) {
            base[t] = global.get(order.get(t));
        }
        float[][] next = acc.applyTo(base, 1.0);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int t = 0; t < next.length; t++) {
            out.put(order.get(t), next[t]);
        }
        return out;
    }
}
