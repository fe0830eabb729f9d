package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.HalfFloats;
import io.fedstream.worker.weights.SafeTensors;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local Hugging Face checkpoints (config.json + model.safetensors + tokenizer.json). */
class HfCheckpointTest {
    private static final BertConfig CONFIG = TinyBert.CONFIG;
    private static final LoraConfig LORA =
            LoraConfig.of(4, 8, 0, LoraConfig.Target.QUERY, LoraConfig.Target.OUTPUT);

    @TempDir Path dir;

    @Test
    void aSafetensorsCheckpointComputesExactlyWhatTheSameWeightsSetDirectlyDo() throws IOException {
        BertWeights weights = TinyBert.randomWeights(CONFIG, 11);
        // a task model's checkpoint: "bert." prefix, a pooler and a head the encoder ignores
        Map<String, FloatTensor> file = new LinkedHashMap<>();
        weights.encoderTensors(CONFIG).forEach((k, v) -> file.put("bert." + k, v));
        file.put("bert.pooler.dense.weight", new FloatTensor(new int[] {16, 16}, new float[256]));
        file.put("classifier.bias", new FloatTensor(new int[] {3}, new float[3]));
        Files.writeString(dir.resolve("config.json"), CONFIG.toHfJson());
        SafeTensors.write(dir.resolve("model.safetensors"), file);
        TokenBatch batch = TinyBert.randomBatch(CONFIG, 3, 10, 5);

        HfCheckpoint checkpoint = HfCheckpoint.load(dir);
        float[] loaded;
        float[] direct;
        try (LoraBert fromFile = new LoraBert(BertEncoder.fromCheckpoint(checkpoint, LORA), 3);
                LoraBert fromWeights = new LoraBert(new BertEncoder(CONFIG, weights, LORA), 3)) {
            loaded = fromFile.lastHiddenState(batch);
            direct = fromWeights.lastHiddenState(batch);
        }

        assertThat(checkpoint.config()).isEqualTo(CONFIG);
        assertThat(checkpoint.weights().encoderTensors(CONFIG))
                .containsExactlyEntriesOf(weights.encoderTensors(CONFIG));
        assertThat(loaded).hasSize(3 * 10 * 16).containsExactly(direct);
    }

    @Test
    void bfloat16CheckpointsAreWidenedExactly() throws IOException {
        BertWeights weights = TinyBert.randomWeights(CONFIG, 12);
        HfCheckpoint.write(dir, CONFIG, weights, SafeTensors.DType.BF16);
        Map<String, FloatTensor> rounded = new LinkedHashMap<>();
        weights.encoderTensors(CONFIG)
                .forEach(
                        (k, v) -> {
                            float[] r = new float[v.size()];
                            for (int i = 0; i < r.length; i++) {
                                r[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v.data()[i]));
                            }
                            rounded.put(k, new FloatTensor(v.shape(), r));
                        });
        TokenBatch batch = TinyBert.randomBatch(CONFIG, 2, 8, 6);

        HfCheckpoint checkpoint = HfCheckpoint.load(dir);
        try (LoraBert fromFile =
                        new LoraBert(BertEncoder.fromCheckpoint(checkpoint, LoraConfig.none()), 0);
                LoraBert fromRounded =
                        new LoraBert(
                                new BertEncoder(CONFIG, BertWeights.of(rounded), LoraConfig.none()),
                                0);
                LoraBert full =
                        new LoraBert(new BertEncoder(CONFIG, weights, LoraConfig.none()), 0)) {
            float[] loaded = fromFile.lastHiddenState(batch);

            assertThat(loaded).containsExactly(fromRounded.lastHiddenState(batch));
            assertThat(TinyBert.maxAbsDiff(loaded, full.lastHiddenState(batch))).isLessThan(0.1f);
        }
        assertThat(SafeTensors.metadata(dir.resolve("model.safetensors")))
                .containsEntry("format", "pt");
    }

    @Test
    void shardedCheckpointsAreReadThroughTheirIndex() throws IOException {
        BertWeights weights = TinyBert.randomWeights(CONFIG, 13);
        Map<String, FloatTensor> all = weights.encoderTensors(CONFIG);
        Map<String, FloatTensor> first = new LinkedHashMap<>();
        Map<String, FloatTensor> second = new LinkedHashMap<>();
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        all.forEach(
                (k, v) -> {
                    boolean one = k.startsWith("embeddings") || k.contains("layer.0.");
                    (one ? first : second).put(k, v);
                    map.put(
                            k,
                            one
                                    ? "model-00001-of-00002.safetensors"
                                    : "model-00002-of-00002.safetensors");
                });
        SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), first);
        SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), second);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        Files.writeString(dir.resolve("config.json"), CONFIG.toHfJson());

        HfCheckpoint checkpoint = HfCheckpoint.load(dir);

        assertThat(checkpoint.weights().encoderTensors(CONFIG)).containsExactlyEntriesOf(all);
    }

    @Test
    void theCheckpointsTokenizerFeedsTheEncoder() throws IOException {
        HfCheckpoint.write(dir, CONFIG, TinyBert.randomWeights(CONFIG, 14), SafeTensors.DType.F32);
        List<String> vocab =
                List.of(
                        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "what", "are", "the", "symptom", "##s",
                        "of", "flu", "?");
        Files.writeString(dir.resolve("tokenizer.json"), wordPieceTokenizerJson(vocab));
        HfCheckpoint checkpoint = HfCheckpoint.load(dir);

        try (HuggingFaceTokenizer tokenizer = checkpoint.tokenizer(16);
                LoraBert model = new LoraBert(BertEncoder.fromCheckpoint(checkpoint, LORA), 1)) {
            TokenBatch batch =
                    TokenBatch.encode(tokenizer, List.of("What are the symptoms of flu?", "Flu?"));
            float[] embeddings = model.sentenceEmbeddings(batch, true);

            assertThat(checkpoint.hasTokenizer()).isTrue();
            assertThat(batch.sequenceLength()).isEqualTo(10);
            assertThat(java.util.Arrays.copyOfRange(batch.inputIds(), 0, 10))
                    .containsExactly(2, 4, 5, 6, 7, 8, 9, 10, 11, 3);
            assertThat(java.util.Arrays.copyOfRange(batch.attentionMask(), 10, 20))
                    .containsExactly(1, 1, 1, 1, 0, 0, 0, 0, 0, 0);
            assertThat(embeddings).hasSize(2 * CONFIG.hiddenSize());
        }
    }

    @Test
    void refusesCheckpointsThatWouldComputeSomethingElse() throws IOException {
        String geluNew = CONFIG.toHfJson().replace("\"gelu\"", "\"gelu_new\"");
        String roberta = CONFIG.toHfJson().replace("\"bert\"", "\"roberta\"");

        assertThatThrownBy(() -> BertConfig.fromHfJson(geluNew)).hasMessageContaining("gelu_new");
        assertThatThrownBy(() -> BertConfig.fromHfJson(roberta)).hasMessageContaining("roberta");
        assertThatThrownBy(() -> HfCheckpoint.load(dir)).isInstanceOf(FileNotFoundException.class);
        Files.writeString(dir.resolve("config.json"), CONFIG.toHfJson());
        Map<String, FloatTensor> missing =
                new LinkedHashMap<>(TinyBert.randomWeights(CONFIG, 15).encoderTensors(CONFIG));
        missing.remove("encoder.layer.1.attention.self.key.weight");
        SafeTensors.write(dir.resolve("model.safetensors"), missing);
        assertThatThrownBy(() -> HfCheckpoint.load(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("missing encoder.layer.1.attention.self.key.weight");
    }

    /** A minimal BERT WordPiece tokenizer.json, as the tokenizers library writes it. */
    static String wordPieceTokenizerJson(List<String> vocab) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < 4; i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", vocab.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "BertNormalizer");
        normalizer.put("clean_text", true);
        normalizer.put("handle_chinese_chars", true);
        normalizer.putNull("strip_accents");
        normalizer.put("lowercase", true);
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "[CLS]").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        single.addObject().putObject("SpecialToken").put("id", "[SEP]").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addAll(single.deepCopy());
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        pair.addObject().putObject("SpecialToken").put("id", "[SEP]").put("type_id", 1);
        ObjectNode special = post.putObject("special_tokens");
        for (String s : List.of("[CLS]", "[SEP]")) {
            ObjectNode t = special.putObject(s);
            t.put("id", s);
            t.putArray("ids").add(vocab.indexOf(s));
            t.putArray("tokens").add(s);
        }
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "WordPiece");
        decoder.put("prefix", "##");
        decoder.put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece");
        model.put("unk_token", "[UNK]");
        model.put("continuing_subword_prefix", "##");
        model.put("max_input_chars_per_word", 100);
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < vocab.size(); i++) {
            v.put(vocab.get(i), i);
        }
        return root.toString();
    }
}
