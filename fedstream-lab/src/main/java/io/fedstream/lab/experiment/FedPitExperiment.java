package io.fedstream.lab.experiment;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.aggregation.WeightedAccumulator;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.decoder.CausalLm;
import io.fedstream.worker.decoder.CausalLmSiteTrainer;
import io.fedstream.worker.decoder.CausalTraining;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderConfig;
import io.fedstream.worker.decoder.DecoderLora;
import io.fedstream.worker.decoder.DecoderPretraining;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.decoder.WordLevelTokenizer;
import io.fedstream.worker.fedpit.DecoderGenerator;
import io.fedstream.worker.fedpit.FedPitSiteTrainer;
import io.fedstream.worker.fedpit.RougeL;
import io.fedstream.worker.fedpit.SelfInstruct;
import io.fedstream.worker.fedpit.SelfInstructPrompts;
import io.fedstream.worker.fedpit.SyntheticFilter;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * FedPIT's questions on MedQuAD with a small causal LM pretrained here (no pretrained causal LM is
 * available offline): (1) few-shot quality: sites with a handful of private examples each, trained
 * alone, with FedIT (FedPIT at β = 1 sends exactly FedIT's delta, so plain FedIT stands for it),
 * with FedPIT at other β, and centrally; held-out answer loss per site; (2) extraction: greedy
 * decoding with the published global adapter (base + global only) on the instructions of private
 * training examples, ROUGE-L against their true responses, with held-out examples of the same sites
 * as the control; (3) how close the synthetic data comes to the private data (ROUGE-L).
 *
 * <p>The base model: a Llama-family decoder with a word-level vocabulary, both built from MedQuAD
 * sources that are no site's data ({@link Settings#pretrainSources()}), pretrained for a fixed
 * number of steps ({@link DecoderPretraining}) on their question-answer texts in the Alpaca layout,
 * packed into fixed-length sequences. It is written as a Hugging Face directory and reused by later
 * runs with the same settings.
 *
 * <p>Over 600 lines: one experiment's protocol, read top to bottom beside its section of
 * docs/experiments.md (lab code, not shipped to sites).
 */
final class FedPitExperiment {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The base model's shape and pretraining. */
    record BaseSettings(
            List<String> pretrainSources,
            int vocab,
            int hidden,
            int layers,
            int heads,
            int context,
            int pack,
            long steps,
            double learningRate,
            int batchSize,
            long seed) {

        String fingerprint() {
            return toString();
        }
    }

    /** The federated part. */
    record Settings(
            BaseSettings base,
            List<String> siteSources,
            int trainPerSite,
            int testPerSite,
            int rounds,
            int localEpochs,
            int batchSize,
            double learningRate,
            int maxTokens,
            int rank,
            double alpha,
            String targets,
            int candidates,
            int keep,
            int localAdapterEpochs,
            List<Double> betas,
            List<String> methods,
            int extraction,
            int extractionTokens,
            long seed) {

        List<String> pretrainSources() {
            return base.pretrainSources();
        }
    }

    /** One row of the quality table: held-out answer loss per site. */
    record Row(String method, Map<String, Double> loss) {
        double mean() {
            return loss.values().stream()
                    .mapToDouble(Double::doubleValue)
                    .average()
                    .orElse(Double.NaN);
        }
    }

    /** ROUGE-L of greedy decodes against the true responses. */
    record Extraction(
            String model,
            double trainMean,
            double trainHigh,
            double testMean,
            double testHigh,
            int n) {}

    /** Synthetic-data statistics of one FedPIT run. */
    record SyntheticStats(
            String method,
            long generated,
            long kept,
            Map<String, Long> filtered,
            long generationMillis,
            double instructionRouge,
            double answerRouge,
            double maxAnswerRouge,
            double controlInstructionRouge,
            double controlAnswerRouge,
            List<InstructionExample> examples) {}

    record Result(
            List<String> sites,
            Map<String, Integer> trainSizes,
            List<Row> rows,
            List<Extraction> extraction,
            List<SyntheticStats> synthetic,
            DecoderPretraining.Result pretraining,
            String baseDescription) {}

    private FedPitExperiment() {}

    // ---------------------------------------------------------------- base model

    /** Loads the base from {@code dir} if it was made with these settings, else pretrains it. */
    static DecoderPretraining.Result base(
            BaseSettings b, List<InstructionExample> corpus, Path dir, PrintStream log)
            throws IOException {
        Path stamp = dir.resolve("fedpit-base.txt");
        if (Files.isRegularFile(stamp)
                && Files.readString(stamp).lines().findFirst().orElse("").equals(b.fingerprint())
                && Files.isRegularFile(dir.resolve("model.safetensors"))) {
            log.println(
                    "base model: reusing "
                            + dir
                            + " ("
                            + Files.readString(stamp).lines().skip(1).findFirst().orElse("")
                            + ")");
            return null;
        }
        Files.createDirectories(dir);
        List<String> texts = corpus.stream().map(InstructionExample::text).toList();
        List<String> vocab = WordLevelTokenizer.vocabulary(texts, b.vocab());
        Files.writeString(dir.resolve("tokenizer.json"), WordLevelTokenizer.json(vocab));
        DecoderConfig config =
                DecoderPretraining.wordLevelLlama(
                        vocab,
                        b.hidden(),
                        b.layers(),
                        b.heads(),
                        b.heads(),
                        b.hidden() * 8 / 3 / 8 * 8,
                        b.context());
        Files.writeString(dir.resolve("config.json"), config.toHfJson());
        List<long[]> sequences;
        try (HuggingFaceTokenizer tok =
                HuggingFaceTokenizer.newInstance(
                        dir.resolve("tokenizer.json"),
                        Map.of(
                                "addSpecialTokens",
                                "false",
                                "padding",
                                "false",
                                "truncation",
                                "false"))) {
            sequences = pack(tok, config, texts, b.pack(), b.seed());
        }
        long tokens = sequences.stream().mapToLong(s -> s.length).sum();
        log.printf(
                Locale.ROOT,
                "base model: pretraining a Llama-style decoder (vocab %d, hidden %d, %d layers,"
                        + " %d heads, context %d) on %d texts of %s = %d packed sequences of %d"
                        + " tokens (%d tokens), %d steps of batch %d%n",
                vocab.size(),
                b.hidden(),
                b.layers(),
                b.heads(),
                b.context(),
                texts.size(),
                b.pretrainSources(),
                sequences.size(),
                b.pack(),
                tokens,
                b.steps(),
                b.batchSize());
        DecoderPretraining.Result r =
                DecoderPretraining.pretrainFromScratch(
                        config,
                        b.seed(),
                        sequences,
                        new DecoderPretraining.Options(
                                b.learningRate(),
                                b.batchSize(),
                                Duration.ofHours(10),
                                b.steps(),
                                b.seed()),
                        log);
        DecoderCheckpoint.write(dir, config, r.weights(), SafeTensors.DType.F32);
        String summary =
                String.format(
                        Locale.ROOT,
                        "%d steps, %d tokens, loss %.3f -> %.3f, %.0f s",
                        r.steps(),
                        r.tokens(),
                        r.firstLoss(),
                        r.lastLoss(),
                        r.millis() / 1000.0);
        Files.writeString(stamp, b.fingerprint() + "\n" + summary + "\n");
        log.println("base model: " + summary + ", written to " + dir);
        return r;
    }

    /** Texts as {@code <s> text </s>}, concatenated in a seeded order and cut into sequences. */
    static List<long[]> pack(
            HuggingFaceTokenizer tok,
            DecoderConfig config,
            List<String> texts,
            int len,
            long seed) {
        int[] order = Sampling.range(texts.size());
        Sampling.shuffle(order, new SplittableRandom(seed));
        List<long[]> out = new ArrayList<>();
        long[] cur = new long[len];
        int n = 0;
        for (int i : order) {
            long[] ids = tok.encode(texts.get(i)).getIds();
            long[] doc = new long[ids.length + 2];
            doc[0] = config.bosTokenId();
            System.arraycopy(ids, 0, doc, 1, ids.length);
            doc[doc.length - 1] = config.eosTokenId();
            for (long id : doc) {
                cur[n++] = id;
                if (n == len) {
                    out.add(cur);
                    cur = new long[len];
                    n = 0;
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- the federated part

    static Result run(
            Settings s,
            Map<String, List<InstructionExample>> train,
            Map<String, List<InstructionExample>> test,
            Path baseDir,
            Path out,
            DecoderPretraining.Result pretraining,
            PrintStream log)
            throws IOException {
        List<String> sites = new ArrayList<>(train.keySet());
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(baseDir);
        DecoderLora lora =
                new DecoderLora(s.rank(), s.alpha(), 0.0, DecoderLora.parseTargets(s.targets()));
        CausalTraining.Options training =
                new CausalTraining.Options(
                        s.maxTokens(), s.batchSize(), s.localEpochs(), s.learningRate(), s.seed());
        List<Row> rows = new ArrayList<>();
        List<Extraction> extraction = new ArrayList<>();
        List<SyntheticStats> synthetic = new ArrayList<>();
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sites.forEach(x -> sizes.put(x, train.get(x).size()));
        try (LoraCausalLm lm =
                        new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, lora), s.seed());
                HuggingFaceTokenizer tok = checkpoint.tokenizer()) {
            Map<String, float[]> v0 = lm.adapterSpec("fedpit", s.seed()).initialValues();
            Map<String, CausalLmSiteTrainer> plain = trainers(lm, tok, train, test, training);
            rows.add(new Row("base (no tuning)", evalAll(plain, v0)));
            log.printf(Locale.ROOT, "%-28s mean held-out loss %.4f%n", "base", rows.get(0).mean());
            List<InstructionExample> privateProbe = probe(train, s.extraction());
            List<InstructionExample> heldOutProbe = probe(test, s.extraction());
            extraction.add(extract("base", lm, tok, v0, privateProbe, heldOutProbe, s));
            if (s.methods().contains("local")) {
                plain = trainers(lm, tok, train, test, training);
                Map<String, Double> loss = new LinkedHashMap<>();
                for (String site : sites) {
                    Map<String, float[]> a = Adapters.copy(v0);
                    for (int r = 0; r < s.rounds(); r++) {
                        a = Adapters.apply(a, plain.get(site).train(a, r).delta());
                    }
                    loss.put(site, plain.get(site).evaluate(a).loss());
                }
                rows.add(logged(log, new Row("local only", loss)));
            }
            if (s.methods().contains("fedit")) {
                plain = trainers(lm, tok, train, test, training);
                Map<String, float[]> g =
                        fedAvg(new ArrayList<>(plain.values()), v0, s.rounds(), null);
                rows.add(logged(log, new Row("FedIT (= FedPIT β=1)", evalAll(plain, g))));
                extraction.add(extract("FedIT global", lm, tok, g, privateProbe, heldOutProbe, s));
            }
            if (s.methods().contains("fedpit")) {
                for (double beta : s.betas()) {
                    runFedPit(
                            s,
                            beta,
                            lm,
                            tok,
                            training,
                            train,
                            test,
                            v0,
                            privateProbe,
                            heldOutProbe,
                            out,
                            rows,
                            extraction,
                            synthetic,
                            log);
                }
            }
            if (s.methods().contains("central")) {
                List<InstructionExample> union = new ArrayList<>();
                sites.forEach(x -> union.addAll(train.get(x)));
                try (CausalLmSiteTrainer central =
                        new CausalLmSiteTrainer(
                                lm, false, tok, union, List.of(), plainOptions(training))) {
                    Map<String, float[]> a = Adapters.copy(v0);
                    for (int r = 0; r < s.rounds(); r++) {
                        a = Adapters.apply(a, central.train(a, r).delta());
                    }
                    rows.add(logged(log, new Row("centralised", evalAll(plain, a))));
                    extraction.add(
                            extract("centralised", lm, tok, a, privateProbe, heldOutProbe, s));
                }
            }
        }
        return new Result(
                sites, sizes, rows, extraction, synthetic, pretraining, baseDir.toString());
    }

    // fresh trainers (round counters at 0) on the shared model
    private static Map<String, CausalLmSiteTrainer> trainers(
            LoraCausalLm lm,
            HuggingFaceTokenizer tok,
            Map<String, List<InstructionExample>> train,
            Map<String, List<InstructionExample>> test,
            CausalTraining.Options training) {
        Map<String, CausalLmSiteTrainer> out = new LinkedHashMap<>();
        for (String site : train.keySet()) {
            out.put(
                    site,
                    new CausalLmSiteTrainer(
                            lm,
                            false,
                            tok,
                            train.get(site),
                            test.get(site),
                            plainOptions(training)));
        }
        return out;
    }

    // the plain FedIT trainer's options: the same training FedPIT's local delta runs
    static CausalLmSiteTrainer.Options plainOptions(CausalTraining.Options t) {
        return new CausalLmSiteTrainer.Options(
                t.maxTokens(), t.batchSize(), t.localEpochs(), t.learningRate(), t.seed());
    }

    private static Row logged(PrintStream log, Row r) {
        log.printf(Locale.ROOT, "%-28s mean held-out loss %.4f%n", r.method(), r.mean());
        return r;
    }

    private static void runFedPit(
            Settings s,
            double beta,
            LoraCausalLm lm,
            HuggingFaceTokenizer tok,
            CausalTraining.Options training,
            Map<String, List<InstructionExample>> train,
            Map<String, List<InstructionExample>> test,
            Map<String, float[]> v0,
            List<InstructionExample> privateProbe,
            List<InstructionExample> heldOutProbe,
            Path out,
            List<Row> rows,
            List<Extraction> extraction,
            List<SyntheticStats> synthetic,
            PrintStream log)
            throws IOException {
        String name = String.format(Locale.ROOT, "FedPIT β=%s", trim(beta));
        Path adapters = out.resolve("local-adapters-beta-" + trim(beta));
        Files.createDirectories(adapters);
        SelfInstruct.Config si =
                new SelfInstruct.Config(
                        s.candidates(),
                        s.keep(),
                        32,
                        s.extractionTokens(),
                        SelfInstructPrompts.Config.defaults(),
                        SyntheticFilter.Config.defaults());
        Map<String, FedPitSiteTrainer> trainers = new LinkedHashMap<>();
        for (String site : train.keySet()) {
            Path file = adapters.resolve(site.replaceAll("[^A-Za-z0-9]+", "_") + ".safetensors");
            Files.deleteIfExists(file);
            trainers.put(
                    site,
                    new FedPitSiteTrainer(
                            lm,
                            false,
                            tok,
                            new DecoderGenerator(lm, tok),
                            train.get(site),
                            test.get(site),
                            new FedPitSiteTrainer.Options(
                                    training, beta, si, s.localAdapterEpochs(), file)));
        }
        Map<String, List<InstructionExample>> generated = new LinkedHashMap<>();
        Map<String, Double> totals = new TreeMap<>();
        Map<String, float[]> g =
                fedAvg(
                        new ArrayList<>(trainers.values()),
                        v0,
                        s.rounds(),
                        (site, result) -> {
                            FedPitSiteTrainer t = (FedPitSiteTrainer) site;
                            result.metrics()
                                    .forEach(
                                            (k, v) -> {
                                                if (k.startsWith("filtered_")
                                                        || k.equals(SelfInstruct.GENERATED)
                                                        || k.equals(SelfInstruct.KEPT)
                                                        || k.equals(
                                                                SelfInstruct.GENERATION_MILLIS)) {
                                                    totals.merge(k, v, Double::sum);
                                                }
                                            });
                            for (Map.Entry<String, FedPitSiteTrainer> e : trainers.entrySet()) {
                                if (e.getValue() == t) {
                                    generated
                                            .computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                                            .addAll(t.lastSynthetic());
                                }
                            }
                        });
        Map<String, Double> published = new LinkedHashMap<>();
        Map<String, Double> personal = new LinkedHashMap<>();
        for (Map.Entry<String, FedPitSiteTrainer> e : trainers.entrySet()) {
            published.put(e.getKey(), e.getValue().evaluate(g).loss());
            personal.put(e.getKey(), e.getValue().evaluatePersonalised(g).loss());
        }
        rows.add(logged(log, new Row(name + " global", published)));
        rows.add(logged(log, new Row(name + " global+local", personal)));
        extraction.add(extract(name + " global", lm, tok, g, privateProbe, heldOutProbe, s));
        // synthetic vs private, and held-out (other real examples of the site) vs private
        double ir = 0;
        double ar = 0;
        double arMax = 0;
        int n = 0;
        double ci = 0;
        double ca = 0;
        int cn = 0;
        List<InstructionExample> all = new ArrayList<>();
        for (String site : train.keySet()) {
            List<String> pi =
                    train.get(site).stream().map(InstructionExample::instruction).toList();
            List<String> pa = train.get(site).stream().map(InstructionExample::output).toList();
            for (InstructionExample x : generated.getOrDefault(site, List.of())) {
                ir += RougeL.maxF(x.instruction(), pi);
                double a = RougeL.maxF(x.output(), pa);
                ar += a;
                arMax = Math.max(arMax, a);
                n++;
                all.add(
                        new InstructionExample(
                                x.id(), x.instruction(), "", x.output(), null, site));
            }
            for (InstructionExample x : test.get(site)) {
                ci += RougeL.maxF(x.instruction(), pi);
                ca += RougeL.maxF(x.output(), pa);
                cn++;
            }
        }
        Map<String, Long> filtered = new TreeMap<>();
        totals.forEach(
                (k, v) -> {
                    if (k.startsWith("filtered_")) {
                        filtered.put(k.substring("filtered_".length()), v.longValue());
                    }
                });
        synthetic.add(
                new SyntheticStats(
                        name,
                        totals.getOrDefault(SelfInstruct.GENERATED, 0.0).longValue(),
                        totals.getOrDefault(SelfInstruct.KEPT, 0.0).longValue(),
                        filtered,
                        totals.getOrDefault(SelfInstruct.GENERATION_MILLIS, 0.0).longValue(),
                        n == 0 ? Double.NaN : ir / n,
                        n == 0 ? Double.NaN : ar / n,
                        arMax,
                        cn == 0 ? Double.NaN : ci / cn,
                        cn == 0 ? Double.NaN : ca / cn,
                        all));
        for (FedPitSiteTrainer t : trainers.values()) {
            t.close();
        }
    }

    static String trim(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    interface RoundListener {
        void onResult(SiteTrainer site, SiteTrainer.TrainResult result);
    }

    /**
     * Synchronous FedAvg: every round every site trains from the global; mean weighted by examples.
     */
    static Map<String, float[]> fedAvg(
            List<? extends SiteTrainer> sites,
            Map<String, float[]> v0,
            int rounds,
            RoundListener listener) {
        Map<String, float[]> g = Adapters.copy(v0);
        List<String> order = List.copyOf(g.keySet());
        for (int r = 0; r < rounds; r++) {
            WeightedAccumulator acc = FedItExperiment.accumulator(g, order);
            for (SiteTrainer t : sites) {
                SiteTrainer.TrainResult res = t.train(g, r);
                if (listener != null) {
                    listener.onResult(t, res);
                }
                acc.add(
                        FedItExperiment.bytes(res.delta(), order),
                        FedItExperiment.kinds(order.size()),
                        res.numExamples());
            }
            g = FedItExperiment.apply(acc, g, order); // g + Σ nᵢΔᵢ / Σ nᵢ, as the job does
        }
        return g;
    }

    private static Map<String, Double> evalAll(
            Map<String, CausalLmSiteTrainer> sites, Map<String, float[]> adapter) {
        Map<String, Double> out = new LinkedHashMap<>();
        sites.forEach((k, t) -> out.put(k, t.evaluate(adapter).loss()));
        return out;
    }

    /** Up to {@code n} examples taken round-robin over the sites. */
    static List<InstructionExample> probe(Map<String, List<InstructionExample>> bySite, int n) {
        List<InstructionExample> out = new ArrayList<>();
        int i = 0;
        boolean any = true;
        while (out.size() < n && any) {
            any = false;
            for (List<InstructionExample> xs : bySite.values()) {
                if (i < xs.size() && out.size() < n) {
                    out.add(xs.get(i));
                    any = true;
                }
            }
            i++;
        }
        return out;
    }

    /**
     * Greedy decodes of base + {@code adapter} on the probes' prompts, ROUGE-L F against the first
     * {@code extractionTokens} words of the true responses: mean, and the share at or above 0.5.
     */
    static Extraction extract(
            String name,
            LoraCausalLm lm,
            HuggingFaceTokenizer tok,
            Map<String, float[]> adapter,
            List<InstructionExample> privateProbe,
            List<InstructionExample> heldOutProbe,
            Settings s) {
        lm.setAdapter(adapter);
        DecoderGenerator gen = new DecoderGenerator(lm, tok);
        double[] tr = rouge(gen, privateProbe, s.extractionTokens());
        double[] te = rouge(gen, heldOutProbe, s.extractionTokens());
        return new Extraction(name, tr[0], tr[1], te[0], te[1], privateProbe.size());
    }

    private static double[] rouge(DecoderGenerator gen, List<InstructionExample> xs, int tokens) {
        double sum = 0;
        int high = 0;
        for (InstructionExample x : xs) {
            String out = gen.complete(x.prompt(), tokens, SelfInstructPrompts.STOPS);
            List<String> ref = RougeL.tokens(x.output());
            double f =
                    RougeL.score(RougeL.tokens(out), ref.subList(0, Math.min(tokens, ref.size())))
                            .f();
            sum += f;
            high += f >= 0.5 ? 1 : 0;
        }
        return new double[] {
            xs.isEmpty() ? Double.NaN : sum / xs.size(),
            xs.isEmpty() ? Double.NaN : (double) high / xs.size()
        };
    }

    // ---------------------------------------------------------------- report

    static String markdown(Result r, Settings s, String command, double seconds) {
        StringBuilder sb = new StringBuilder();
        sb.append("Command: `").append(command).append("`\n\n");
        if (r.pretraining() != null) {
            DecoderPretraining.Result p = r.pretraining();
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "Base model pretrained in this run: %d steps, %d tokens, loss %.3f -> %.3f, %.0f s.%n%n",
                            p.steps(),
                            p.tokens(),
                            p.firstLoss(),
                            p.lastLoss(),
                            p.millis() / 1000.0));
        } else {
            sb.append("Base model reused from `").append(r.baseDescription()).append("`.\n\n");
        }
        sb.append(
                "Held-out answer loss (mean NLL per answer token; lower is better), per site (training examples in brackets):\n\n");
        sb.append("| method |");
        for (String site : r.sites()) {
            sb.append(' ').append(site).append(" (").append(r.trainSizes().get(site)).append(") |");
        }
        sb.append(" mean | perplexity |\n|---|");
        r.sites().forEach(x -> sb.append("---:|"));
        sb.append("---:|---:|\n");
        for (Row row : r.rows()) {
            sb.append("| ").append(row.method()).append(" |");
            for (String site : r.sites()) {
                sb.append(String.format(Locale.ROOT, " %.3f |", row.loss().get(site)));
            }
            sb.append(
                    String.format(
                            Locale.ROOT, " %.3f | %.1f |%n", row.mean(), Math.exp(row.mean())));
        }
        sb.append(
                        "\nExtraction (greedy decoding with base + the adapter; ROUGE-L F against the first ")
                .append(s.extractionTokens())
                .append(" words of the true response; share of examples at ROUGE-L >= 0.5):\n\n");
        sb.append(
                "| model | private training examples: mean | >= 0.5 | held-out examples: mean | >= 0.5 | n |\n|---|---:|---:|---:|---:|---:|\n");
        for (Extraction e : r.extraction()) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %.3f | %.2f | %.3f | %.2f | %d |%n",
                            e.model(),
                            e.trainMean(),
                            e.trainHigh(),
                            e.testMean(),
                            e.testHigh(),
                            e.n()));
        }
        if (!r.synthetic().isEmpty()) {
            sb.append(
                    "\nSynthetic data (all rounds and sites): candidates, kept, filtered, generation time; mean over kept examples of the highest ROUGE-L against the site's private examples (instructions, answers; highest answer value), and the same for the site's real held-out examples as the control:\n\n");
            sb.append(
                    "| run | generated | kept | filtered | generation s | instr. ROUGE-L | answer ROUGE-L | max answer | control instr. | control answer |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
            for (SyntheticStats x : r.synthetic()) {
                StringBuilder f = new StringBuilder();
                x.filtered()
                        .forEach(
                                (k, v) -> {
                                    if (v > 0) {
                                        f.append(f.length() == 0 ? "" : ", ")
                                                .append(k)
                                                .append(' ')
                                                .append(v);
                                    }
                                });
                sb.append(
                        String.format(
                                Locale.ROOT,
                                "| %s | %d | %d | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f |%n",
                                x.method(),
                                x.generated(),
                                x.kept(),
                                f.length() == 0 ? "none" : f,
                                x.generationMillis() / 1000.0,
                                x.instructionRouge(),
                                x.answerRouge(),
                                x.maxAnswerRouge(),
                                x.controlInstructionRouge(),
                                x.controlAnswerRouge()));
            }
        }
        sb.append(String.format(Locale.ROOT, "%nWall time %.0f s.%n", seconds));
        return sb.toString();
    }

    /** Kept synthetic examples as JSON lines, for inspection. */
    static void writeSynthetic(Path file, List<SyntheticStats> stats) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (SyntheticStats s : stats) {
            for (InstructionExample e : s.examples()) {
                Map<String, String> m = new LinkedHashMap<>();
                m.put("run", s.method());
                m.put("site", e.source());
                m.put("instruction", e.instruction());
                m.put("output", e.output());
                sb.append(JSON.writeValueAsString(m)).append('\n');
            }
        }
        Files.writeString(file, sb.toString());
    }

    static String describe(List<?> xs) {
        return Arrays.toString(xs.toArray());
    }
}
