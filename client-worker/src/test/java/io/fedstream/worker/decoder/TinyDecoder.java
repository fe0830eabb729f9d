package io.fedstream.worker.decoder;

import io.fedstream.worker.bert.TinyBert;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Small random causal decoders in Hugging Face layout, and a tiny tokenizer, for fast tests. */
public final class TinyDecoder {
    /** GPT-2: vocabulary 32 (EOS 31), hidden 16, 2 layers, 2 heads, MLP 64, 24 positions. */
    static final DecoderConfig GPT2 = DecoderConfig.gpt2(32, 16, 2, 2, 24);

    /**
     * Llama: vocabulary 32, hidden 16, 2 layers, 4 heads sharing 2 kv heads, MLP 24, 32 positions.
     */
    public static final DecoderConfig LLAMA = DecoderConfig.llama(32, 16, 2, 4, 2, 24, 32);

    private TinyDecoder() {}

    /**
     * Random weights under HF names: matrices and embeddings {@code N(0, 0.3)}, norm scales {@code
     * 1 + N(0, 0.1)}, biases {@code N(0, 0.1)}.
     */
    static DecoderWeights randomWeights(DecoderConfig config, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        return DecoderWeights.generate(
                config,
                (name, shape, v) -> {
                    boolean normScale =
                            name.endsWith("norm.weight")
                                    || name.endsWith("layernorm.weight")
                                    || name.matches(".*ln_.\\.weight");
                    double std = shape.length == 2 ? 0.3 : 0.1;
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) ((normScale ? 1 : 0) + std * TinyBert.gaussian(rnd));
                    }
                });
    }

    /** Random ids in {@code [3, vocab - 1)} (avoiding the special ids). */
    public static long[] randomIds(DecoderConfig config, int len, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] ids = new long[len];
        for (int i = 0; i < len; i++) {
            ids[i] = 3 + rnd.nextInt(config.vocabSize() - 4);
        }
        return ids;
    }

    /**
     * A tiny instruction-tuning vocabulary: the special tokens ({@code <pad> <s> </s> <unk>}), the
     * words of the Alpaca prompt, then {@code words}.
     */
    static List<String> instructionVocab(String... words) {
        List<String> vocab =
                new ArrayList<>(
                        List.of(
                                "<pad>",
                                "<s>",
                                "</s>",
                                "<unk>",
                                "###",
                                "Instruction",
                                ":",
                                "Response"));
        vocab.addAll(List.of(words));
        return List.copyOf(vocab);
    }

    /**
     * Writes a Hugging Face checkpoint of {@code config} with random weights from {@code seed} and
     * a word-level tokenizer over {@code vocab} (its first four tokens special) into {@code dir}.
     */
    static void writeCheckpoint(
            Path dir, DecoderConfig config, long seed, SafeTensors.DType dtype, List<String> vocab)
            throws IOException {
        DecoderCheckpoint.write(dir, config, randomWeights(config, seed), dtype);
        Files.writeString(
                dir.resolve("tokenizer.json"), wordLevelTokenizerJson(vocab, vocab.subList(0, 4)));
    }

    /**
     * A minimal word-level tokenizer.json (whitespace pre-tokenizer, no normalizer, no post
     * processor): {@code vocab.get(i)} has id {@code i}, unknown words map to {@code <unk>}.
     */
    static String wordLevelTokenizerJson(List<String> vocab, List<String> special) {
        return WordLevelTokenizer.json(vocab, special, false);
    }

    static double maxAbsDiff(float[] actual, double[][] expected, int rowOffset, int stride) {
        double m = 0;
        for (int t = 0; t < expected.length; t++) {
            for (int v = 0; v < expected[t].length; v++) {
                m = Math.max(m, Math.abs(actual[rowOffset + t * stride + v] - expected[t][v]));
            }
        }
        return m;
    }
}
