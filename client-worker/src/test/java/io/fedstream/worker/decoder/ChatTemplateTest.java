package io.fedstream.worker.decoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.data.InstructionExample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
