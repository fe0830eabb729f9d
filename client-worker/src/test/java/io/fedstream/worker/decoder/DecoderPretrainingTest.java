package io.fedstream.worker.decoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.DjlRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DecoderPretrainingTest {
    static final DecoderConfig CONFIG = TinyDecoder.LLAMA;

    @Test
    void foldingFullRankAdaptersIntoTheWeightsKeepsTheLogits() {
        DecoderWeights init = DecoderPretraining.randomWeights(CONFIG, 1);
        DecoderLora lora = new DecoderLora(16, 16, 0, EnumSet.allOf(Module.class));
        CausalBatch batch =
                CausalBatch.of(
                        List.of(TinyDecoder.randomIds(CONFIG, 6, 2)),
                        List.of(TinyDecoder.randomIds(CONFIG, 3, 3)));
        float[] adapted;
        Map<String, float[]> adapter;
        try (LoraCausalLm lm = new LoraCausalLm(new CausalLm(CONFIG, init, lora), 4)) {
            adapter = lm.getAdapter();
            for (Map.Entry<String, float[]> e : adapter.entrySet()) {
                for (int i = 0; i < e.getValue().length; i++) {
                    e.getValue()[i] += (float) (0.05 * Math.cos(3 * i + e.getKey().hashCode()));
                }
            }
            lm.setAdapter(adapter);
            adapted = lm.logits(batch);
        }

        DecoderWeights folded = DecoderPretraining.fold(CONFIG, init, adapter, lora);
        float[] plain;
        try (LoraCausalLm lm =
                new LoraCausalLm(new CausalLm(CONFIG, folded, DecoderLora.none()), 4)) {
            plain = lm.logits(batch);
        }

        for (int i = 0; i < plain.length; i++) {
            assertThat(plain[i]).isCloseTo(adapted[i], within(1e-3f));
        }
    }

    @Test
    void pretrainingLowersTheLossOnItsText() {
        List<long[]> seqs = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            long[] ids = TinyDecoder.randomIds(CONFIG, 12, 10 + s);
            ids[0] = CONFIG.bosTokenId();
            seqs.add(ids);
        }

        DecoderPretraining.Result r =
                DecoderPretraining.pretrainFromScratch(
                        CONFIG,
                        5,
                        seqs,
                        new DecoderPretraining.Options(1e-2, 4, Duration.ofMinutes(5), 60, 6),
                        null);

        assertThat(r.steps()).isEqualTo(60);
        assertThat(r.lastLoss()).isLessThan(r.firstLoss() * 0.7);
        r.weights().validate(CONFIG);
    }

    @Test
    void wordLevelTokenizerRoundTripsThroughDjl(@TempDir Path dir) throws Exception {
        List<String> vocab =
                WordLevelTokenizer.vocabulary(
                        List.of("What is gout? Gout is arthritis.", "What is FLU?"), 8);
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, WordLevelTokenizer.json(vocab));
        DjlRuntime.configure();

        try (HuggingFaceTokenizer tok =
                HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false"))) {
            // the 4 specials, then by frequency: what, is, gout, ?
            assertThat(vocab).startsWith("<pad>", "<unk>", "<s>", "</s>", "is", "what", "gout");
            long[] ids = tok.encode("what is asthma ?").getIds();
            assertThat(ids).containsExactly(5, 4, 1, vocab.indexOf("?"));
            assertThat(tok.decode(ids, true)).isEqualTo("what is ?");
        }
    }
}
