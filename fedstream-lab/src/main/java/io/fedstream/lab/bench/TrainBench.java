package io.fedstream.lab.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.bert.BertClassifier;
import io.fedstream.worker.bert.BertEncoder;
import io.fedstream.worker.bert.BertSiteTrainer;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.LoraConfig;
import io.fedstream.worker.bert.LoraConfig.Target;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.OnnxWeights;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.MedQuad;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.djl.DjlRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * {@code ./fedstream bench train}: local training speed of the MiniLM classifier path ({@link
 * BertSiteTrainer} on a {@link LoraBert}) in attended tokens per second, plain (every step runs the
 * whole encoder on batches padded to their longest row) against the trainer's speed-ups: length
 * bucketing, the cached frozen prefix, and both, for LoRA on every layer and on the upper layers
 * only. Data: MedQuAD questions labelled with their question type, as in {@code experiment fedit}.
 * Two unshown rounds warm the engine up first. Each row runs one warm-up round (which also fills
 * the prefix cache; its time is shown) and then measured rounds of one epoch each, from the same
 * adapter; the best round counts. Ends with {@code ratio: X}, the best speed-up over plain training
 * of the same model.
 */
public final class TrainBench {
    private TrainBench() {}

    /** The benchmark's settings. */
    public record Settings(
            boolean quick, int examples, int maxTokens, int batchSize, int fromLayer, Path data) {}

    private record Variant(String name, boolean cache, boolean bucket) {}

    private static final List<Variant> VARIANTS =
            List.of(
                    new Variant("plain", false, false),
                    new Variant("bucketing", false, true),
                    new Variant("prefix cache", true, false),
                    new Variant("cache + bucketing", true, true));

    public static int run(Settings s) throws IOException {
        int examples = s.examples() > 0 ? s.examples() : s.quick() ? 128 : 512;
        int rounds = s.quick() ? 1 : 3;
        List<InstructionExample> all =
                s.data() == null ? MedQuad.readAll() : MedQuad.readAll(s.data());
        SplittableRandom rnd = new SplittableRandom(7);
        int[] order = Sampling.range(all.size());
        Sampling.shuffle(order, rnd);
        List<String> texts = new ArrayList<>();
        List<String> labelNames = new ArrayList<>();
        for (int i = 0; i < Math.min(examples, order.length); i++) {
            InstructionExample e = all.get(order[i]);
            texts.add(e.instruction());
            labelNames.add(e.category() == null ? "" : e.category());
        }
        List<String> classes = List.copyOf(new TreeSet<>(labelNames));
        int[] labels = labelNames.stream().mapToInt(classes::indexOf).toArray();
        BertSiteTrainer.Labelled train = new BertSiteTrainer.Labelled(texts, labels);
        BertSiteTrainer.Labelled none = new BertSiteTrainer.Labelled(List.of(), new int[0]);
        BertSiteTrainer.Options options =
                new BertSiteTrainer.Options(s.maxTokens(), s.batchSize(), 1, 3e-3, 42);

        DjlRuntime.engine();
        System.out.printf(
                Locale.ROOT,
                "all-MiniLM-L6-v2 + LoRA r8 (query,value) + head (%d classes); %d MedQuAD"
                        + " questions, max %d tokens, batch %d, Adam; PyTorch threads %s (intra-op)"
                        + " / %s (inter-op); %d measured round(s) of 1 epoch after 1 warm-up round;"
                        + " load average %s%n",
                classes.size(),
                texts.size(),
                s.maxTokens(),
                s.batchSize(),
                System.getProperty(DjlRuntime.NUM_THREADS),
                System.getProperty(DjlRuntime.NUM_INTEROP_THREADS),
                rounds,
                loadAverage());
        System.out.printf(
                Locale.ROOT,
                "%-12s %-18s %10s %14s %12s %14s %10s%n",
                "LoRA layers",
                "training",
                "warm-up s",
                "computed/real",
                "tokens/s",
                "tokens/cpu-s",
                "speed-up");
        OnnxWeights onnx = MiniLm.onnx();
        double bestRatio = 0;
        String best = "";
        try (HuggingFaceTokenizer tokenizer = MiniLm.tokenizer(s.maxTokens())) {
            for (int from : new int[] {0, s.fromLayer()}) {
                LoraConfig lora =
                        LoraConfig.of(8, 16, 0.05, Target.QUERY, Target.VALUE).withFromLayer(from);
                String layers = from + "-5";
                double plain = 0;
                try (LoraBert model =
                        new LoraBert(
                                new BertClassifier(
                                        BertEncoder.fromOnnx(onnx, lora), classes.size()),
                                1)) {
                    Map<String, float[]> v0 = model.adapterSpec("bench", 1).initialValues();
                    if (from == 0) {
                        // engine and JIT warm-up, not shown: the first rounds of a JVM are slower
                        try (BertSiteTrainer t =
                                new BertSiteTrainer(
                                        model, false, tokenizer, train, none, options)) {
                            t.train(v0, 0);
                            t.train(v0, 0);
                        }
                    }
                    for (Variant v : VARIANTS) {
                        try (BertSiteTrainer trainer =
                                new BertSiteTrainer(
                                        model,
                                        false,
                                        tokenizer,
                                        train,
                                        none,
                                        options.withSpeedups(v.cache(), v.bucket()))) {
                            SiteTrainer.TrainResult warm = trainer.train(v0, 0);
                            double wallRate = 0;
                            double cpuRate = 0;
                            for (int r = 0; r < rounds; r++) {
                                long cpu0 = processCpuNanos();
                                SiteTrainer.TrainResult res = trainer.train(v0, 0);
                                long cpu = processCpuNanos() - cpu0;
                                Map<String, Double> m = res.metrics();
                                double tokens = m.get(BertSiteTrainer.TRAIN_TOKENS);
                                wallRate =
                                        Math.max(
                                                wallRate,
                                                tokens
                                                        / (m.get(BertSiteTrainer.TRAIN_MILLIS)
                                                                / 1000));
                                cpuRate = Math.max(cpuRate, tokens / (cpu / 1e9));
                            }
                            Map<String, Double> wm = warm.metrics();
                            if (v.name().equals("plain")) {
                                plain = cpuRate;
                            }
                            double ratio = cpuRate / plain;
                            if (ratio > bestRatio) {
                                bestRatio = ratio;
                                best = "layers " + layers + ", " + v.name();
                            }
                            System.out.printf(
                                    Locale.ROOT,
                                    "%-12s %-18s %10.2f %14.2f %12.0f %14.0f %9.2fx%n",
                                    layers,
                                    v.name(),
                                    wm.get(BertSiteTrainer.TRAIN_MILLIS) / 1000,
                                    wm.get(BertSiteTrainer.COMPUTED_TOKENS)
                                            / wm.get(BertSiteTrainer.TRAIN_TOKENS),
                                    wallRate,
                                    cpuRate,
                                    ratio);
                        }
                    }
                }
            }
        }
        System.out.printf(
                Locale.ROOT,
                "speed-up and ratio: tokens per CPU-second of the process (robust to other load on"
                        + " the machine) over plain training of the same model; best: %s%n",
                best);
        System.out.printf(Locale.ROOT, "ratio: %.2f%n", bestRatio);
        return 0;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
