package io.fedstream.worker.fedpit;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.decoder.CausalLm;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderConfig;
import io.fedstream.worker.decoder.DecoderLora;
import io.fedstream.worker.decoder.DecoderPretraining;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.decoder.WordLevelTokenizer;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny instruction corpus with known facts, and a tiny Llama pretrained on it (1000 steps of
 * {@link DecoderPretraining}, about 25 s on 2 cores: copying the disease from the question into the
 * answer emerges after about 700), written as a Hugging Face directory and loaded back: a real
 * decoder whose greedy output and losses reflect what it learned. The checkpoint is cached in
 * {@code target/test-fixtures} so that unit and integration tests make it once per build.
 */
final class TinyMedical {
    static final String[][] FACTS = {
        {"flu", "virus", "lungs", "rest and fluids"},
        {"gout", "arthritis", "joints", "pain relief"},
        {"asthma", "disease", "airways", "inhalers"},
        {"anemia", "blood disorder", "blood", "iron"},
        {"migraine", "headache", "head", "dark rooms"},
        {"eczema", "skin condition", "skin", "moist creams"},
        {"glaucoma", "eye disease", "eyes", "eye drops"},
        {"cirrhosis", "liver disease", "liver", "no alcohol"},
        {"rickets", "bone disease", "bones", "vitamin d"},
        {"tinnitus", "hearing problem", "ears", "sound therapy"},
        {"angina", "heart condition", "heart", "rest and nitrates"},
        {"sciatica", "nerve pain", "legs", "exercise"},
    };

    private TinyMedical() {}

    /** Three questions per disease: what it is, what it affects, how it is treated. */
    static List<InstructionExample> examples() {
        List<InstructionExample> out = new ArrayList<>();
        for (String[] f : FACTS) {
            out.add(ex(f[0] + "-what", "What is " + f[0] + " ?", f[0] + " is a " + f[1] + " ."));
            out.add(
                    ex(
                            f[0] + "-where",
                            "What does " + f[0] + " affect ?",
                            f[0] + " affects the " + f[2] + " and can last a long time ."));
            out.add(
                    ex(
                            f[0] + "-treat",
                            "How is " + f[0] + " treated ?",
                            f[0] + " is treated with " + f[3] + " ."));
        }
        return out;
    }

    private static InstructionExample ex(String id, String q, String a) {
        return new InstructionExample(id, q, "", a, null, "tiny");
    }

    static final DecoderLora LORA =
            DecoderLora.of(4, 8, 0, DecoderLora.Module.Q_PROJ, DecoderLora.Module.V_PROJ);

    private static Path dir;

    /** The pretrained checkpoint (made once per JVM). */
    static synchronized Path checkpoint() {
        if (dir != null) {
            return dir;
        }
        Path cached = Path.of("target", "test-fixtures", "tiny-medical-v1");
        if (Files.isRegularFile(cached.resolve("model.safetensors"))) {
            dir = cached;
            return dir;
        }
        try {
            Files.createDirectories(cached.getParent());
            Path d = Files.createTempDirectory(cached.getParent(), "tiny-medical");
            List<String> texts = new ArrayList<>();
            for (InstructionExample e : examples()) {
                texts.add(e.text());
            }
            // the self-instruct headers are in every text: the vocabulary has them
            List<String> vocab = WordLevelTokenizer.vocabulary(texts, 200);
            Files.writeString(d.resolve("tokenizer.json"), WordLevelTokenizer.json(vocab));
            DecoderConfig config = DecoderPretraining.wordLevelLlama(vocab, 32, 2, 4, 2, 64, 256);
            // write the random model once to get its tokenizer, then pretrain on the corpus
            DecoderCheckpoint.write(
                    d, config, DecoderPretraining.randomWeights(config, 7), SafeTensors.DType.F32);
            List<long[]> sequences = new ArrayList<>();
            try (HuggingFaceTokenizer tok = DecoderCheckpoint.load(d).tokenizer()) {
                for (InstructionExample e : examples()) {
                    // each example followed by a second one, as in a demonstration prompt
                    long[] ids = tok.encode(e.text()).getIds();
                    long[] seq = new long[ids.length + 2];
                    seq[0] = config.bosTokenId();
                    System.arraycopy(ids, 0, seq, 1, ids.length);
                    seq[seq.length - 1] = config.eosTokenId();
                    sequences.add(seq);
                }
            }
            DecoderPretraining.Result r =
                    DecoderPretraining.pretrainFromScratch(
                            config,
                            7,
                            sequences,
                            new DecoderPretraining.Options(
                                    3e-3, 8, Duration.ofMinutes(10), 1000, 11),
                            null);
            DecoderCheckpoint.write(d, config, r.weights(), SafeTensors.DType.F32);
            try {
                Files.move(d, cached, StandardCopyOption.ATOMIC_MOVE);
                dir = cached;
            } catch (IOException raced) {
                dir = d; // another JVM made it first: use ours
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static HuggingFaceTokenizer tokenizer() {
        try {
            return DecoderCheckpoint.load(checkpoint()).tokenizer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A new model on the pretrained checkpoint with {@link #LORA} adapters. */
    static LoraCausalLm model() {
        try {
            return new LoraCausalLm(
                    CausalLm.fromCheckpoint(DecoderCheckpoint.load(checkpoint()), LORA), 5);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
