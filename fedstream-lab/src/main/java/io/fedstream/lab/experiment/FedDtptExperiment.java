package io.fedstream.lab.experiment;

import io.fedstream.aggregation.prompt.EmbeddingAverage;
import io.fedstream.aggregation.prompt.PromptMerge;
import io.fedstream.aggregation.prompt.TokenEmbeddings;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.GlobalPrompt;
import io.fedstream.schemas.avro.Manifest;
import io.fedstream.schemas.avro.PromptCloseReason;
import io.fedstream.schemas.avro.PromptContribution;
import io.fedstream.schemas.avro.PromptManifest;
import io.fedstream.schemas.avro.PromptToken;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.worker.bert.BertEncoder;
import io.fedstream.worker.bert.LoraConfig;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.OnnxWeights;
import io.fedstream.worker.data.DirichletPartitioner;
import io.fedstream.worker.data.ImdbReviews;
import io.fedstream.worker.prompt.BlackBoxModel;
import io.fedstream.worker.prompt.DjlSentenceEncoder;
import io.fedstream.worker.prompt.EncoderClassifier;
import io.fedstream.worker.prompt.PromptTuner;
import io.fedstream.worker.prompt.ScoringSets;
import io.fedstream.worker.prompt.TokenSpace;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * FedDTPT on IMDb sentiment with a black-box model: 10 clients (IID and Dirichlet label skew) tune
 * discrete prompts through the API of a zero-shot all-MiniLM-L6-v2 classifier ({@link
 * EncoderClassifier}) and the server merges them. Compared: the hand-written prompt, every client's
 * own prompt tuned alone with the same API budget, the FedDTPT global prompt (DBSCAN with elbow
 * eps; KMeans), and the embedding-averaging ablation; accuracy on a balanced held-out set, API
 * calls, bytes per round against a LoRA update of the same model; and the global prompt transferred
 * to bge-small-en-v1.5.
 *
 * <p>Over 600 lines: one experiment's protocol, read top to bottom beside its section of
 * docs/experiments.md (lab code, not shipped to sites).
 */
final class FedDtptExperiment {
    private FedDtptExperiment() {}

    static final List<String> LABELS = ScoringSets.SENTIMENT;

    record Settings(
            int clients,
            double alpha,
            int trainPerClient,
            int publicPerClass,
            int testSize,
            int rounds,
            int budget,
            int batch,
            int neighbours,
            int maxPromptTokens,
            int textTokens,
            String handPrompt,
            boolean transfer,
            long seed) {}

    /** One line of the results table. */
    record Row(
            String split,
            String method,
            double accuracy,
            double min,
            double max,
            double transferAccuracy,
            long apiCalls,
            long uploadBytesPerClientRound,
            long downloadBytesPerClientRound,
            String prompt,
            List<Double> curve) {}

    record Result(List<Row> rows, Map<String, String> notes) {}

    static Result run(Settings s, List<ImdbReviews.Review> all, PrintStream log) throws Exception {
        Random random = new Random(s.seed());
        List<ImdbReviews.Review> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, random);
        List<PromptTuner.Example> test = new ArrayList<>();
        List<PromptTuner.Example> pub = new ArrayList<>();
        List<PromptTuner.Example> pool = new ArrayList<>();
        int[] testCount = new int[2];
        int[] pubCount = new int[2];
        int poolSize = s.clients() * s.trainPerClient();
        for (ImdbReviews.Review r : shuffled) {
            PromptTuner.Example e = new PromptTuner.Example(r.text(), LABELS.get(r.label()));
            if (testCount[r.label()] < s.testSize() / 2) {
                testCount[r.label()]++;
                test.add(e);
            } else if (pubCount[r.label()] < s.publicPerClass()) {
                pubCount[r.label()]++;
                pub.add(e);
            } else if (pool.size() < poolSize) {
                pool.add(e);
            }
            if (pool.size() == poolSize
                    && test.size() == s.testSize()
                    && pub.size() == 2 * s.publicPerClass()) {
                break;
            }
        }
        log.printf(
                Locale.ROOT,
                "IMDb: %d train examples over %d clients, public set %d (balanced), test %d (balanced)%n",
                pool.size(),
                s.clients(),
                pub.size(),
                test.size());

        long t0 = System.nanoTime();
        OnnxWeights onnx = MiniLm.onnx();
        TokenSpace space = TokenSpace.miniLm(onnx);
        TokenEmbeddings table = new TokenEmbeddings(space.words(), space.vectors());
        Map<String, String> notes = new HashMap<>();
        List<Row> rows = new ArrayList<>();
        long loraUpload = loraUpdateBytes(onnx);
        long loraDownload = loraGlobalBytes(onnx, s.clients());
        try (DjlSentenceEncoder encoder = DjlSentenceEncoder.miniLm(onnx, s.textTokens())) {
            EncoderClassifier model = new EncoderClassifier(encoder, LABELS);
            List<String> texts = new ArrayList<>();
            for (List<PromptTuner.Example> l : List.of(pool, pub, test)) {
                l.forEach(e -> texts.add(e.text()));
            }
            model.warm(texts);
            log.printf(
                    Locale.ROOT,
                    "encoded %d texts with %s in %.1f s (word space: %d words)%n",
                    texts.size(),
                    encoder.name(),
                    (System.nanoTime() - t0) / 1e9,
                    space.size());
            List<String> hand = space.words(s.handPrompt());
            double handAcc = PromptTuner.accuracy(model, hand, test);
            log.printf(
                    Locale.ROOT,
                    "hand-written prompt '%s': test accuracy %.3f%n",
                    String.join(" ", hand),
                    handAcc);
            notes.put("hand", String.join(" ", hand));

            DjlSentenceEncoder bge =
                    s.transfer() ? DjlSentenceEncoder.bgeSmall(s.textTokens()) : null;
            EncoderClassifier bgeModel = bge == null ? null : new EncoderClassifier(bge, LABELS);
            try {
                if (bgeModel != null) {
                    long tb = System.nanoTime();
                    bgeModel.warm(test.stream().map(PromptTuner.Example::text).toList());
                    log.printf(
                            Locale.ROOT,
                            "encoded the test set with %s in %.1f s%n",
                            bge.name(),
                            (System.nanoTime() - tb) / 1e9);
                }
                double handBge =
                        bgeModel == null ? Double.NaN : PromptTuner.accuracy(bgeModel, hand, test);
                rows.add(
                        new Row(
                                "-",
                                "hand-written",
                                handAcc,
                                handAcc,
                                handAcc,
                                handBge,
                                0,
                                0,
                                0,
                                String.join(" ", hand),
                                List.of()));

                for (String split : List.of("iid", "dirichlet")) {
                    List<List<PromptTuner.Example>> clients = split(pool, s, split.equals("iid"));
                    StringBuilder counts = new StringBuilder();
                    for (List<PromptTuner.Example> c : clients) {
                        long pos = c.stream().filter(e -> e.label().equals("positive")).count();
                        counts.append(String.format(Locale.ROOT, " %d/%d", c.size() - pos, pos));
                    }
                    log.printf("%s split, negative/positive per client:%s%n", split, counts);
                    rows.add(
                            localOnly(
                                    s, split, clients, pub, test, model, bgeModel, space, hand,
                                    log));
                    for (String method :
                            List.of("feddtpt-dbscan", "feddtpt-kmeans", "embedding-average")) {
                        rows.add(
                                federated(
                                        s, split, method, clients, pub, test, model, bgeModel,
                                        space, table, hand, log));
                    }
                }
            } finally {
                if (bge != null) {
                    bge.close();
                }
            }
        }
        notes.put("lora_upload_bytes", Long.toString(loraUpload));
        notes.put("lora_download_bytes", Long.toString(loraDownload));
        rows.add(
                new Row(
                        "-",
                        "LoRA r=8 q,v update (same MiniLM)",
                        Double.NaN,
                        Double.NaN,
                        Double.NaN,
                        Double.NaN,
                        0,
                        loraUpload,
                        loraDownload,
                        "",
                        List.of()));
        return new Result(rows, notes);
    }

    static List<List<PromptTuner.Example>> split(
            List<PromptTuner.Example> pool, Settings s, boolean iid) {
        List<List<PromptTuner.Example>> out = new ArrayList<>();
        if (iid) {
            List<PromptTuner.Example> shuffled = new ArrayList<>(pool);
            Collections.shuffle(shuffled, new Random(s.seed() + 1));
            for (int c = 0; c < s.clients(); c++) {
                out.add(shuffled.subList(c * s.trainPerClient(), (c + 1) * s.trainPerClient()));
            }
            return out;
        }
        int[] labels = pool.stream().mapToInt(e -> LABELS.indexOf(e.label())).toArray();
        int[][] parts =
                DirichletPartitioner.partition(labels, 2, s.clients(), s.alpha(), 4, s.seed() + 2);
        for (int[] p : parts) {
            List<PromptTuner.Example> c = new ArrayList<>();
            for (int i : p) {
                c.add(pool.get(i));
            }
            out.add(c);
        }
        return out;
    }

    /** The client's scoring set for a round: a seeded sample of its data plus the public set. */
    static List<PromptTuner.Example> scoring(
            List<PromptTuner.Example> local,
            List<PromptTuner.Example> pub,
            Settings s,
            int client,
            int round) {
        return ScoringSets.sample(local, pub, s.batch(), s.seed(), client, round);
    }

    private static PromptTuner tuner(
            BlackBoxModel model, TokenSpace space, Settings s, int client, int round) {
        return new PromptTuner(
                model,
                space,
                new PromptTuner.Config(
                        s.budget(),
                        s.neighbours(),
                        1,
                        s.maxPromptTokens(),
                        s.seed() + 7919L * client + 104729L * round));
    }

    static Row localOnly(
            Settings s,
            String split,
            List<List<PromptTuner.Example>> clients,
            List<PromptTuner.Example> pub,
            List<PromptTuner.Example> test,
            EncoderClassifier model,
            EncoderClassifier bge,
            TokenSpace space,
            List<String> hand,
            PrintStream log) {
        long calls = 0;
        List<Double> acc = new ArrayList<>();
        List<Double> transfer = new ArrayList<>();
        long upload = 0;
        String example = "";
        for (int c = 0; c < clients.size(); c++) {
            List<String> prompt = hand;
            for (int r = 0; r < s.rounds(); r++) {
                PromptTuner.Result res =
                        tuner(model, space, s, c, r)
                                .tune(prompt, scoring(clients.get(c), pub, s, c, r));
                prompt = res.tokens();
                calls += res.apiCalls();
            }
            acc.add(PromptTuner.accuracy(model, prompt, test));
            if (bge != null) {
                transfer.add(PromptTuner.accuracy(bge, prompt, test));
            }
            if (c == 0) {
                example = String.join(" ", prompt);
            }
        }
        log.printf(Locale.ROOT, "%s local-only: per-client test accuracy %s%n", split, format(acc));
        return new Row(
                split,
                "local-only (each client's own prompt)",
                mean(acc),
                min(acc),
                max(acc),
                transfer.isEmpty() ? Double.NaN : mean(transfer),
                calls,
                upload,
                0,
                "client 0: " + example,
                List.of());
    }

    static Row federated(
            Settings s,
            String split,
            String method,
            List<List<PromptTuner.Example>> clients,
            List<PromptTuner.Example> pub,
            List<PromptTuner.Example> test,
            EncoderClassifier model,
            EncoderClassifier bge,
            TokenSpace space,
            TokenEmbeddings table,
            List<String> hand,
            PrintStream log) {
        List<String> global = hand;
        long calls = 0;
        long upload = 0;
        long download = 0;
        List<Double> curve = new ArrayList<>();
        curve.add(PromptTuner.accuracy(model, global, test));
        List<List<String>> lastClientPrompts = new ArrayList<>();
        for (int r = 0; r < s.rounds(); r++) {
            List<PromptMerge.ClientPrompt> prompts = new ArrayList<>();
            List<PromptContribution> contributions = new ArrayList<>();
            lastClientPrompts.clear();
            for (int c = 0; c < clients.size(); c++) {
                List<PromptTuner.Example> sc = scoring(clients.get(c), pub, s, c, r);
                PromptTuner.Result res = tuner(model, space, s, c, r).tune(global, sc);
                calls += res.apiCalls();
                prompts.add(new PromptMerge.ClientPrompt("site-" + c, res.tokens()));
                lastClientPrompts.add(res.tokens());
                PromptUpdate u = promptUpdate("site-" + c, r, res, sc.size());
                upload += AvroCodec.PROMPT_UPDATE.encode(u).length;
                contributions.add(
                        PromptContribution.newBuilder()
                                .setUpdateId(u.getUpdateId())
                                .setSiteId(u.getSiteId())
                                .setBaseVersion(r)
                                .setStaleness(0)
                                .setAccuracy(res.accuracy())
                                .setApiCalls(res.apiCalls())
                                .setNumExamples(sc.size())
                                .setSourcePartition(0)
                                .setSourceOffset(r * clients.size() + c)
                                .build());
            }
            PromptMerge.Config config =
                    method.equals("feddtpt-kmeans")
                            ? new PromptMerge.Config(
                                    PromptMerge.Clustering.KMEANS,
                                    2,
                                    0,
                                    0,
                                    s.seed(),
                                    s.maxPromptTokens())
                            : new PromptMerge.Config(
                                    PromptMerge.Clustering.DBSCAN, 2, 0, 0, 0, s.maxPromptTokens());
            List<String> next;
            if (method.equals("embedding-average")) {
                next = EmbeddingAverage.merge(prompts, table, t -> true);
            } else {
                next = PromptMerge.merge(prompts, table::vector, config).words();
            }
            if (!next.isEmpty()) {
                global = next;
            }
            download +=
                    AvroCodec.GLOBAL_PROMPT.encode(
                                    globalPrompt(r + 1, global, method, contributions))
                            .length;
            double acc = PromptTuner.accuracy(model, global, test);
            curve.add(acc);
            log.printf(
                    Locale.ROOT,
                    "%s %s round %d: global '%s' test accuracy %.3f%n",
                    split,
                    method,
                    r + 1,
                    String.join(" ", global),
                    acc);
        }
        double transfer = bge == null ? Double.NaN : PromptTuner.accuracy(bge, global, test);
        long perClientRounds = (long) clients.size() * s.rounds();
        return new Row(
                split,
                method,
                curve.get(curve.size() - 1),
                Double.NaN,
                Double.NaN,
                transfer,
                calls,
                upload / perClientRounds,
                download / s.rounds(),
                String.join(" ", global),
                curve);
    }

    static PromptUpdate promptUpdate(String site, int base, PromptTuner.Result res, int examples) {
        List<PromptToken> tokens = new ArrayList<>();
        for (int i = 0; i < res.tokens().size(); i++) {
            tokens.add(
                    PromptToken.newBuilder().setToken(res.tokens().get(i)).setPosition(i).build());
        }
        return PromptUpdate.newBuilder()
                .setUpdateId(site + "/v" + base)
                .setFederationId("imdb")
                .setSiteId(site)
                .setBaseVersion(base)
                .setTokens(tokens)
                .setAccuracy(res.accuracy())
                .setBaseAccuracy(res.baseAccuracy())
                .setApiCalls(res.apiCalls())
                .setNumExamples(examples)
                .setCreatedAtMs(Instant.now())
                .build();
    }

    static GlobalPrompt globalPrompt(
            int version, List<String> words, String rule, List<PromptContribution> contributions) {
        List<PromptToken> tokens = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            tokens.add(PromptToken.newBuilder().setToken(words.get(i)).setPosition(i).build());
            sources.add("site-0");
        }
        return GlobalPrompt.newBuilder()
                .setFederationId("imdb")
                .setVersion(version)
                .setParentVersion(version - 1)
                .setTokens(tokens)
                .setManifest(
                        PromptManifest.newBuilder()
                                .setCloseReason(PromptCloseReason.QUORUM)
                                .setRule(rule)
                                .setContributions(contributions)
                                .setSources(sources)
                                .setRoundOpenedAtMs(Instant.ofEpochMilli(0))
                                .setRoundClosedAtMs(Instant.ofEpochMilli(0))
                                .build())
                .build();
    }

    /** Bytes of one AdapterUpdate of a rank-8 LoRA on MiniLM's query and value (float32). */
    static long loraUpdateBytes(OnnxWeights onnx) {
        List<Tensor> tensors = loraTensors(onnx);
        AdapterUpdate u =
                AdapterUpdate.newBuilder()
                        .setUpdateId("site-0/v0")
                        .setFederationId("imdb")
                        .setSiteId("site-0")
                        .setBaseVersion(0)
                        .setNumExamples(48)
                        .setTensors(tensors)
                        .setCreatedAtMs(Instant.now())
                        .build();
        return AvroCodec.ADAPTER_UPDATE.encode(u).length;
    }

    /** Bytes of one GlobalModel of that LoRA with a manifest of {@code clients} contributions. */
    static long loraGlobalBytes(OnnxWeights onnx, int clients) {
        List<Tensor> tensors = loraTensors(onnx);
        List<Contribution> contributions = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            contributions.add(
                    Contribution.newBuilder()
                            .setUpdateId("site-" + c + "/v0")
                            .setSiteId("site-" + c)
                            .setBaseVersion(0)
                            .setStaleness(0)
                            .setNumExamples(48)
                            .setWeight(48)
                            .setSourcePartition(0)
                            .setSourceOffset(c)
                            .build());
        }
        GlobalModel g =
                GlobalModel.newBuilder()
                        .setFederationId("imdb")
                        .setVersion(1)
                        .setParentVersion(0)
                        .setTensors(tensors)
                        .setManifest(
                                Manifest.newBuilder()
                                        .setCloseReason(CloseReason.QUORUM)
                                        .setRule("fedavg")
                                        .setContributions(contributions)
                                        .setTotalWeight(48.0 * clients)
                                        .setRoundOpenedAtMs(Instant.ofEpochMilli(0))
                                        .setRoundClosedAtMs(Instant.ofEpochMilli(0))
                                        .setTensorsSha256(TensorCodec.sha256(tensors))
                                        .build())
                        .build();
        return AvroCodec.GLOBAL_MODEL.encode(g).length;
    }

    private static List<Tensor> loraTensors(OnnxWeights onnx) {
        BertEncoder encoder =
                BertEncoder.fromOnnx(
                        onnx,
                        LoraConfig.of(
                                8, 16, 0.05, LoraConfig.Target.QUERY, LoraConfig.Target.VALUE));
        List<Tensor> tensors = new ArrayList<>();
        for (TensorSpec t : encoder.adapterTensors()) {
            tensors.add(TensorCodec.float32(t.name(), t.shape(), new float[t.size()]));
        }
        return tensors;
    }

    static String format(List<Double> xs) {
        StringBuilder b = new StringBuilder();
        for (double x : xs) {
            b.append(String.format(Locale.ROOT, "%.3f ", x));
        }
        return b.toString().strip();
    }

    static double mean(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    static double min(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    static double max(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    /** The results as a Markdown table. */
    static String markdown(Result result, Settings s, String command, double seconds) {
        StringBuilder b = new StringBuilder();
        b.append(
                "| split | method | test accuracy (MiniLM) | transfer: accuracy with bge-small | tuning API calls | upload B/client/round | download B/client/round | prompt |\n");
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (Row r : result.rows()) {
            String acc =
                    Double.isNaN(r.accuracy())
                            ? "-"
                            : Double.isNaN(r.min())
                                    ? String.format(Locale.ROOT, "%.3f", r.accuracy())
                                    : String.format(
                                            Locale.ROOT,
                                            "%.3f (min %.3f, max %.3f)",
                                            r.accuracy(),
                                            r.min(),
                                            r.max());
            b.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %s | %s | %s | %s | %s | %s |%n",
                            r.split(),
                            r.method(),
                            acc,
                            Double.isNaN(r.transferAccuracy())
                                    ? "-"
                                    : String.format(Locale.ROOT, "%.3f", r.transferAccuracy()),
                            r.apiCalls() == 0 ? "-" : Long.toString(r.apiCalls()),
                            r.uploadBytesPerClientRound() == 0
                                    ? "-"
                                    : Long.toString(r.uploadBytesPerClientRound()),
                            r.downloadBytesPerClientRound() == 0
                                    ? "-"
                                    : Long.toString(r.downloadBytesPerClientRound()),
                            r.prompt().isEmpty() ? "" : "`" + r.prompt() + "`"));
        }
        b.append('\n');
        b.append(
                "Global prompt's test accuracy after each round (round 0 = the hand-written prompt):\n\n");
        for (Row r : result.rows()) {
            if (!r.curve().isEmpty()) {
                b.append("- ")
                        .append(r.split())
                        .append(' ')
                        .append(r.method())
                        .append(": ")
                        .append(format(r.curve()))
                        .append('\n');
            }
        }
        b.append(
                String.format(
                        Locale.ROOT,
                        "%n`%s` — %d clients, %d train examples each (Dirichlet alpha %s for the"
                                + " non-IID split), public set %d per class, test %d, %d rounds, budget %d calls per"
                                + " client and round, scoring batch %d + public, %d neighbours, seed %d; wall time %.0f s.%n",
                        command,
                        s.clients(),
                        s.trainPerClient(),
                        s.alpha(),
                        s.publicPerClass(),
                        s.testSize(),
                        s.rounds(),
                        s.budget(),
                        s.batch(),
                        s.neighbours(),
                        s.seed(),
                        seconds));
        return b.toString();
    }

    static String csv(Result result) {
        StringBuilder b =
                new StringBuilder(
                        "split,method,accuracy,min,max,transfer_accuracy,api_calls,upload_bytes_per_client_round,download_bytes_per_client_round,prompt\n");
        for (Row r : result.rows()) {
            b.append(
                    String.format(
                            Locale.ROOT,
                            "%s,%s,%s,%s,%s,%s,%d,%d,%d,\"%s\"%n",
                            r.split(),
                            r.method(),
                            r.accuracy(),
                            r.min(),
                            r.max(),
                            r.transferAccuracy(),
                            r.apiCalls(),
                            r.uploadBytesPerClientRound(),
                            r.downloadBytesPerClientRound(),
                            r.prompt()));
        }
        return b.toString();
    }
}
