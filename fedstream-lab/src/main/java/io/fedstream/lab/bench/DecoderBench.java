package io.fedstream.lab.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fedstream.worker.decoder.CausalBatch;
import io.fedstream.worker.decoder.CausalLm;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderConfig;
import io.fedstream.worker.decoder.DecoderLora;
import io.fedstream.worker.decoder.DecoderWeights;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.weights.HalfFloats;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * {@code ./fedstream bench decoder}: a checkpoint of a real model's shape with random BF16 weights
 * (written here, in two shards with an index, as {@code save_pretrained} does), then the worker's
 * decoder on it: load time, resident memory against the weights' size, LoRA training tokens/s and
 * greedy generation tokens/s. The peak resident memory ({@code VmHWM}, reset before each model) is
 * read after loading and again after training and generation.
 */
public final class DecoderBench {

    /**
     * @param shapes model shapes to run: {@code qwen2.5-0.5b}, {@code llama-3.2-1b}
     * @param sequence tokens per training row (one row per step; the second half is the answer)
     * @param steps timed training steps (after one warm-up step)
     * @param newTokens generated tokens (after a 16-token prompt)
     * @param tempDir where the checkpoints are written (and deleted)
     */
    public record Settings(
            List<String> shapes, int sequence, int steps, int newTokens, Path tempDir) {}

    private DecoderBench() {}

    /** The architecture of {@code name} as its config.json gives it. */
    static DecoderConfig shape(String name) {
        return switch (name) {
            case "qwen2.5-0.5b" ->
                    DecoderConfig.fromHfJson(
                            "{\"model_type\":\"qwen2\",\"vocab_size\":151936,\"hidden_size\":896,"
                                    + "\"num_hidden_layers\":24,\"num_attention_heads\":14,"
                                    + "\"num_key_value_heads\":2,\"intermediate_size\":4864,"
                                    + "\"max_position_embeddings\":32768,\"rms_norm_eps\":1e-06,"
                                    + "\"rope_theta\":1000000.0,\"tie_word_embeddings\":true,"
                                    + "\"bos_token_id\":151643,\"eos_token_id\":151643,"
                                    + "\"hidden_act\":\"silu\",\"use_sliding_window\":false}");
            case "llama-3.2-1b" ->
                    DecoderConfig.fromHfJson(
                            "{\"model_type\":\"llama\",\"vocab_size\":128256,\"hidden_size\":2048,"
                                    + "\"num_hidden_layers\":16,\"num_attention_heads\":32,"
                                    + "\"num_key_value_heads\":8,\"intermediate_size\":8192,"
                                    + "\"max_position_embeddings\":131072,\"rms_norm_eps\":1e-05,"
                                    + "\"rope_theta\":500000.0,\"tie_word_embeddings\":true,"
                                    + "\"rope_scaling\":{\"factor\":32.0,\"low_freq_factor\":1.0,"
                                    + "\"high_freq_factor\":4.0,"
                                    + "\"original_max_position_embeddings\":8192,"
                                    + "\"rope_type\":\"llama3\"},\"bos_token_id\":128000,"
                                    + "\"eos_token_id\":128001,\"hidden_act\":\"silu\"}");
            default ->
                    throw new IllegalArgumentException(
                            "unknown shape " + name + " (qwen2.5-0.5b, llama-3.2-1b)");
        };
    }

    public static int run(Settings s) throws IOException {
        System.out.printf(
                Locale.ROOT,
                "decoder bench: random BF16 weights, 2 shards; LoRA rank 8 on q,v; training: 1 x %d"
                        + " tokens per step (answer half), %d steps after 1 warm-up; generation:"
                        + " %d tokens after a 16-token prompt; PyTorch threads %s%n",
                s.sequence(),
                s.steps(),
                s.newTokens(),
                System.getProperty("ai.djl.pytorch.num_threads", "1"));
        System.out.printf(
                Locale.ROOT,
                "%-13s %8s %8s %8s %9s %10s %10s %7s %10s %10s%n",
                "model",
                "params",
                "BF16 GB",
                "load s",
                "RSS GB",
                "peak load",
                "peak run",
                "peak/w",
                "train t/s",
                "gen t/s");
        for (String name : s.shapes()) {
            DecoderConfig config = shape(name);
            Path dir = Files.createTempDirectory(s.tempDir(), "decoder-bench-");
            try {
                long bytes = writeRandom(dir, config, 7);
                Row row = measure(dir, config, s);
                System.out.printf(
                        Locale.ROOT,
                        "%-13s %7.0fM %8.2f %8.1f %9.2f %10.2f %10.2f %7.2f %10.1f %10.2f%n",
                        name,
                        bytes / 2 / 1e6,
                        bytes / 1e9,
                        row.loadSeconds,
                        row.rss / 1e9,
                        row.peak / 1e9,
                        row.runPeak / 1e9,
                        (double) Math.max(row.peak, row.runPeak) / bytes,
                        row.trainTokensPerSecond,
                        row.generatedTokensPerSecond);
            } finally {
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
        return 0;
    }

    private record Row(
            double loadSeconds,
            long rss,
            long peak,
            long runPeak,
            double trainTokensPerSecond,
            double generatedTokensPerSecond) {}

    private static Row measure(Path dir, DecoderConfig config, Settings s) throws IOException {
        System.gc(); // the previous row's garbage, then a fresh peak for this row
        resetPeak();
        long t0 = System.nanoTime();
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(dir);
        DecoderLora lora =
                DecoderLora.of(8, 16, 0, DecoderLora.Module.Q_PROJ, DecoderLora.Module.V_PROJ);
        try (LoraCausalLm lm = new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, lora), 1)) {
            double load = (System.nanoTime() - t0) / 1e9;
            long rss = status("VmRSS");
            long peak = status("VmHWM");
            SplittableRandom rnd = new SplittableRandom(3);
            int half = s.sequence() / 2;
            CausalBatch batch =
                    CausalBatch.of(
                            List.of(ids(rnd, config, half)),
                            List.of(ids(rnd, config, s.sequence() - half)));
            double train;
            try (LoraCausalLm.Training t = lm.newTraining(1e-4, 5)) {
                t.step(batch); // warm-up
                long t1 = System.nanoTime();
                for (int i = 0; i < s.steps(); i++) {
                    t.step(batch);
                }
                train = (double) s.steps() * s.sequence() / ((System.nanoTime() - t1) / 1e9);
            }
            long[] prompt = ids(rnd, config, 16);
            lm.generate(prompt, 1); // warm-up
            long t2 = System.nanoTime();
            long[] out = lm.generate(prompt, s.newTokens());
            double gen = out.length / ((System.nanoTime() - t2) / 1e9);
            return new Row(load, rss, peak, status("VmHWM"), train, gen);
        }
    }

    private static long[] ids(SplittableRandom rnd, DecoderConfig config, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 1000 + rnd.nextInt(config.vocabSize() - 2000);
        }
        return ids;
    }

    // writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+)
    private static void resetPeak() throws IOException {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    }

    // a /proc/self/status figure in bytes
    private static long status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    /**
     * Writes config.json and two BF16 shards with an index, generating each tensor as it is written
     * (matrices uniform with std 0.02, norm scales 1, no Java copy of the model).
     *
     * @return the weights' bytes
     */
    static long writeRandom(Path dir, DecoderConfig config, long seed) throws IOException {
        Files.writeString(dir.resolve("config.json"), config.toHfJson());
        Map<String, int[]> shapes = DecoderWeights.expectedShapes(config);
        List<String> names = new ArrayList<>(shapes.keySet());
        long total = 0;
        for (int[] sh : shapes.values()) {
            total += elements(sh) * 2;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode weightMap = json.createObjectNode();
        SplittableRandom rnd = new SplittableRandom(seed);
        int split = 0;
        long first = 0;
        while (split < names.size() && first < total / 2) {
            first += elements(shapes.get(names.get(split++))) * 2;
        }
        List<List<String>> shards =
                List.of(names.subList(0, split), names.subList(split, names.size()));
        for (int s = 0; s < 2; s++) {
            String file = String.format("model-%05d-of-00002.safetensors", s + 1);
            ObjectNode header = json.createObjectNode();
            header.putObject("__metadata__").put("format", "pt");
            long offset = 0;
            for (String n : shards.get(s)) {
                ObjectNode t = header.putObject(n);
                t.put("dtype", "BF16");
                ArrayNode shape = t.putArray("shape");
                for (int d : shapes.get(n)) {
                    shape.add(d);
                }
                long end = offset + elements(shapes.get(n)) * 2;
                t.putArray("data_offsets").add(offset).add(end);
                offset = end;
                weightMap.put(n, file);
            }
            byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
            int padded = (h.length + 7) / 8 * 8;
            try (OutputStream out = Files.newOutputStream(dir.resolve(file))) {
                ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
                prefix.putLong(padded).put(h);
                while (prefix.hasRemaining()) {
                    prefix.put((byte) ' ');
                }
                out.write(prefix.array());
                byte[] buf = new byte[1 << 20];
                for (String n : shards.get(s)) {
                    boolean norm = shapes.get(n).length == 1 && n.endsWith("norm.weight");
                    double halfWidth = shapes.get(n).length == 1 ? 0.02 : 0.02 * Math.sqrt(3);
                    long left = elements(shapes.get(n));
                    while (left > 0) {
                        int k = (int) Math.min(left, buf.length / 2);
                        for (int i = 0; i < k; i++) {
                            float v =
                                    (float)
                                            ((norm ? 1 : 0)
                                                    + halfWidth * (2 * rnd.nextDouble() - 1));
                            short b = HalfFloats.floatToBf16(v);
                            buf[2 * i] = (byte) b;
                            buf[2 * i + 1] = (byte) (b >> 8);
                        }
                        out.write(buf, 0, 2 * k);
                        left -= k;
                    }
                }
            }
        }
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", weightMap);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        return total;
    }

    private static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
