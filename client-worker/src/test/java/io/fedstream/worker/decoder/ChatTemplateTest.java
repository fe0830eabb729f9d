package io.fedstream.worker.decoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.fedpit.FedPitSiteTrainer;
import io.fedstream.worker.fedpit.SelfInstruct;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Byte-level BPE tokenizers through DJL and the families' chat layouts: the token ids decode to
 * exactly the text the family's template renders, and only the answer is scored.
 */
class ChatTemplateTest {
    @TempDir Path dir;

    private static String config(String modelType, int bos) {
        return "{\"model_type\":\""
                + modelType
                + "\",\"hidden_size\":16,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
                + "\"num_key_value_heads\":1,\"intermediate_size\":24,\"max_position_embeddings\":128,"
                + "\"vocab_size\":280,\"bos_token_id\":"
                + bos
                + ",\"eos_token_id\":"
                + ByteLevelBpe.id("<|endoftext|>")
                + ",\"tie_word_embeddings\":true}";
    }

    private DecoderConfig checkpoint(String modelType, boolean bosPost, String template)
            throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), ByteLevelBpe.json(bosPost));
        if (template != null) {
            Files.writeString(
                    dir.resolve("tokenizer_config.json"), ByteLevelBpe.tokenizerConfig(template));
        }
        String json = config(modelType, ByteLevelBpe.id("<|begin_of_text|>"));
        Files.writeString(dir.resolve("config.json"), json);
        return DecoderConfig.fromHfJson(json);
    }

    private HuggingFaceTokenizer tokenizer(boolean special) throws IOException {
        return HuggingFaceTokenizer.newInstance(
                dir.resolve("tokenizer.json"),
                java.util.Map.of(
                        "addSpecialTokens", Boolean.toString(special),
                        "padding", "false",
                        "truncation", "false"));
    }

    @Test
    void aByteLevelBpeTokenizerRoundTripsBytesAndAppliesItsMerges() throws IOException {
        checkpoint("qwen2", false, null);
        try (HuggingFaceTokenizer t = tokenizer(false)) {
            String text = "is flu a virus? Grüße 😀";

            long[] ids = t.encode(text).getIds();

            // "is", " flu", " a"(bytes), " virus", "?" ...: merges applied, other bytes as bytes
            assertThat(Arrays.copyOf(ids, 5))
                    .containsExactly(
                            ByteLevelBpe.id("is"),
                            ByteLevelBpe.id("Ġflu"),
                            ByteLevelBpe.id("Ġ"),
                            'a',
                            ByteLevelBpe.id("Ġvirus"));
            // ü is the two bytes C3 BC, the emoji four bytes: one id per byte
            assertThat(ids).contains(0xC3L, 0xBCL, 0xF0L, 0x9FL);
            assertThat(t.decode(ids)).isEqualTo(text);
        }
    }

    @Test
    void qwenInstructionDataIsLaidOutInChatMlAndOnlyTheAnswerIsScored() throws IOException {
        DecoderConfig config = checkpoint("qwen2", false, ByteLevelBpe.QWEN25_TEMPLATE);
        ChatTemplate template = ChatTemplate.of(dir, config);
        InstructionExample e =
                new InstructionExample("1", "What is flu?", "", "A virus.", null, null);
        try (HuggingFaceTokenizer t = tokenizer(false)) {
            long[][] pa = template.encode(t, CausalLmSiteTrainer.userTurn(e), e.output(), 512);
            CausalBatch batch = CausalBatch.of(List.of(pa[0]), List.of(pa[1]));

            long[] all = batch.inputIds();
            assertThat(template.kind()).isEqualTo(ChatTemplate.Kind.CHATML);
            // apply_chat_template([user, assistant]) of Qwen2.5, without the final "\n"
            assertThat(t.decode(all, false))
                    .isEqualTo(
                            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a"
                                    + " helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is"
                                    + " flu?<|im_end|>\n<|im_start|>assistant\nA"
                                    + " virus.<|im_end|>");
            assertThat(t.decode(pa[1], false)).isEqualTo("A virus.<|im_end|>");
            int scored = 0;
            for (int i = 0; i < all.length; i++) {
                boolean answer = i >= pa[0].length;
                assertThat(batch.lossMask()[i]).as("token %d", i).isEqualTo(answer ? 1L : 0L);
                scored += answer ? 1 : 0;
            }
            assertThat(batch.lossTargets()[1]).hasSize(scored);
            assertThat(batch.lossTargets()[1][scored - 1])
                    .isEqualTo((long) ByteLevelBpe.id("<|im_end|>"));
            assertThat(template.endOfTurn()).isEqualTo(ByteLevelBpe.id("<|im_end|>"));
        }
    }

    @Test
    void llama3InstructionDataUsesTheHeaderTokens() throws IOException {
        DecoderConfig config = checkpoint("llama", true, ByteLevelBpe.LLAMA3_TEMPLATE);
        ChatTemplate template = ChatTemplate.of(dir, config);
        try (HuggingFaceTokenizer t = tokenizer(false);
                HuggingFaceTokenizer plain = tokenizer(true)) {
            long[][] pa = template.encode(t, "What is flu?\n\nIn short.", " A virus. ", 512);

            assertThat(template.kind()).isEqualTo(ChatTemplate.Kind.LLAMA3);
            assertThat(t.decode(pa[0], false))
                    .isEqualTo(
                            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is"
                                    + " flu?\n\nIn short.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
            assertThat(t.decode(pa[1], false)).isEqualTo("A virus.<|eot_id|>");
            assertThat(pa[0][0]).isEqualTo(ByteLevelBpe.id("<|begin_of_text|>"));
            // without --chat a prompt is encoded as tokenizer.json says: Llama 3 adds BOS
            assertThat(plain.encode("is flu").getIds())
                    .containsExactly(
                            ByteLevelBpe.id("<|begin_of_text|>"),
                            ByteLevelBpe.id("is"),
                            ByteLevelBpe.id("Ġflu"));
        }
    }

    /**
     * FedPIT lays its examples (local, held-out and synthetic: one encoder) out in the chat
     * template as FedIT does, and its answer-only loss scores exactly the assistant turn.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void fedPitTrainsInTheChatTemplateAndScoresOnlyTheAnswer(String family) throws IOException {
        boolean llama = family.equals("llama");
        DecoderConfig config =
                checkpoint(
                        family,
                        llama,
                        llama ? ByteLevelBpe.LLAMA3_TEMPLATE : ByteLevelBpe.QWEN25_TEMPLATE);
        ChatTemplate template = ChatTemplate.of(dir, config);
        InstructionExample e =
                new InstructionExample("1", "What is flu?", "In short.", "A virus.", null, null);
        FedPitSiteTrainer.Options options =
                new FedPitSiteTrainer.Options(
                        new CausalTraining.Options(128, 4, 1, 1e-2, 3),
                        0.5,
                        SelfInstruct.Config.defaults(),
                        1,
                        null);
        DecoderLora lora = DecoderLora.of(2, 4, 0, DecoderLora.Module.Q_PROJ);
        try (HuggingFaceTokenizer t = tokenizer(false);
                LoraCausalLm lm =
                        new LoraCausalLm(
                                new CausalLm(config, TinyDecoder.randomWeights(config, 5), lora),
                                6);
                FedPitSiteTrainer fedpit =
                        new FedPitSiteTrainer(
                                lm, false, t, template, null, List.of(e), List.of(), options)) {
            long[][] pa = fedpit.trainingData(List.of(e)).rows().get(0);
            String endOfTurn = llama ? "<|eot_id|>" : "<|im_end|>";

            assertThat(pa[0]).containsExactly(template.prompt(t, "What is flu?\n\nIn short."));
            assertThat(t.decode(pa[0], false))
                    .contains("What is flu?\n\nIn short." + endOfTurn)
                    .endsWith(
                            llama
                                    ? "<|start_header_id|>assistant<|end_header_id|>\n\n"
                                    : "<|im_start|>assistant\n");
            assertThat(t.decode(pa[1], false)).isEqualTo("A virus." + endOfTurn);
            CausalBatch batch = fedpit.trainingData(List.of(e)).batch(new int[] {0});
            for (int i = 0; i < batch.lossMask().length; i++) {
                assertThat(batch.lossMask()[i])
                        .as("token %d", i)
                        .isEqualTo(i >= pa[0].length ? 1L : 0L);
            }
            long[] targets = batch.lossTargets()[1];
            assertThat(targets).containsExactly(pa[1]);
            assertThat(targets[targets.length - 1]).isEqualTo((long) template.endOfTurn());
        }
    }

    @Test
    void anUnknownTemplateOrMissingSpecialTokensAreRefusedByName() throws IOException {
        DecoderConfig config =
                checkpoint("mistral", false, "{{ '[INST] ' + content + ' [/INST]' }}");
        assertThatThrownBy(() -> ChatTemplate.of(dir, config))
                .hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("neither Llama 3's nor ChatML");
        Files.writeString(
                dir.resolve("tokenizer_config.json"),
                ByteLevelBpe.tokenizerConfig(ByteLevelBpe.QWEN25_TEMPLATE));
        Files.writeString(
                dir.resolve("tokenizer.json"),
                ByteLevelBpe.json(false).replace("<|im_end|>", "<|im_stop|>"));
        assertThatThrownBy(() -> ChatTemplate.of(dir, config))
                .hasMessageContaining("tokenizer.json has no added token <|im_end|>");
        Files.delete(dir.resolve("tokenizer_config.json"));
        assertThat(ChatTemplate.of(dir, config)).isNull();
    }
}
