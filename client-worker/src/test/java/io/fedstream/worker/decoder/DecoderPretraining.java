package io.fedstream.worker.decoder;

import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.decoder.DecoderConfig.Family;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.djl.LoraDense;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Pretraining a small Llama-family decoder from scratch, for experiments that need a causal LM when
 * no pretrained one is available offline. {@link CausalLm} keeps its base frozen, so the base is
 * trained through full-rank LoRA: every projection of every block ({@code q,k,v,o,gate,up,down})
 * gets an adapter of rank {@code min(in, out)} (any update of the weight is reachable), trained on
 * next-token prediction over whole sequences, and the products are folded into the weights ({@code
 * W + B·A}), which are returned as an ordinary checkpoint. Embeddings, norms and the LM head stay
 * at their random initial values ({@link #randomWeights}; the head is drawn large enough for
 * confident predictions through the frozen final RMSNorm).
 *
 * <p>Research code, not a site's: it lives in client-worker's test sources, where the FedPIT tests'
 * tiny model ({@code TinyMedical}) pretrains with it, and reaches fedstream-lab's {@code experiment
 * fedpit} through client-worker's test jar, which holds only this class.
 */
public final class DecoderPretraining {

    private DecoderPretraining() {}

    /**
     * Random Llama weights: projections {@code N(0, 0.02)}, embeddings {@code N(0, 1)}, LM head
     * {@code N(0, 1.5 / sqrt(hidden))}, norm scales 1.
     */
    public static DecoderWeights randomWeights(DecoderConfig config, long seed) {
        if (config.family() != Family.LLAMA) {
            throw new IllegalArgumentException("pretraining supports the Llama family");
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        return DecoderWeights.generate(
                config,
                (name, shape, v) -> {
                    if (shape.length == 1) {
                        java.util.Arrays.fill(v, name.endsWith(".bias") ? 0f : 1f);
                    } else {
                        double std =
                                name.equals(DecoderWeights.LM_HEAD)
                                        ? 1.5 / Math.sqrt(config.hiddenSize())
                                        : name.contains("embed_tokens") ? 1.0 : 0.02;
                        for (int i = 0; i < v.length; i++) {
                            v[i] = (float) (std * Sampling.gaussian(rnd));
                        }
                    }
                });
    }

    /**
     * The Llama config of a decoder pretrained here on a word-level vocabulary ({@link
     * WordLevelTokenizer}): RMSNorm eps 1e-6, RoPE base 10000, no biases, an untied head, BOS and
     * EOS from the vocabulary.
     */
    public static DecoderConfig wordLevelLlama(
            List<String> vocab,
            int hidden,
            int layers,
            int heads,
            int kvHeads,
            int intermediate,
            int positions) {
        return new DecoderConfig(
                Family.LLAMA,
                vocab.size(),
                hidden,
                layers,
                heads,
                kvHeads,
                intermediate,
                positions,
                1e-6,
                10000,
                false,
                false,
                false,
                vocab.indexOf(WordLevelTokenizer.BOS),
                vocab.indexOf(WordLevelTokenizer.EOS));
    }

    /** {@link #pretrain} from {@link #randomWeights}{@code (config, weightSeed)}. */
    public static Result pretrainFromScratch(
            DecoderConfig config,
            long weightSeed,
            List<long[]> sequences,
            Options options,
            PrintStream log) {
        return pretrain(config, randomWeights(config, weightSeed), sequences, options, log);
    }

    /**
     * @param learningRate Adam's learning rate
     * @param batchSize sequences per step
     * @param budget wall-clock limit
     * @param maxSteps step limit (0: none)
     * @param seed batch sampling and adapter initialisation
     */
    public record Options(
            double learningRate, int batchSize, Duration budget, long maxSteps, long seed) {}

    /** The pretrained weights and how the run went. */
    public record Result(
            DecoderWeights weights,
            long steps,
            long tokens,
            double firstLoss,
            double lastLoss,
            long millis) {}

    /**
     * Trains on {@code sequences} (token ids, each at least 2 long and at most the model's
     * positions; the loss is on every token after the first) until the budget or step limit.
     */
    public static Result pretrain(
            DecoderConfig config,
            DecoderWeights init,
            List<long[]> sequences,
            Options options,
            PrintStream log) {
        int rank = Math.min(config.hiddenSize(), config.intermediateSize());
        EnumSet<Module> all = EnumSet.allOf(Module.class);
        DecoderLora lora = new DecoderLora(rank, rank, 0, all);
        SplittableRandom random = new SplittableRandom(options.seed());
        long t0 = System.nanoTime();
        long deadline = t0 + options.budget().toNanos();
        long steps = 0;
        long tokens = 0;
        double first = Double.NaN;
        double window = 0;
        int inWindow = 0;
        double last = Double.NaN;
        Map<String, float[]> adapter;
        try (LoraCausalLm lm = new LoraCausalLm(new CausalLm(config, init, lora), options.seed())) {
            try (LoraCausalLm.Training training =
                    lm.newTraining(options.learningRate(), random.nextLong())) {
                while (System.nanoTime() < deadline
                        && (options.maxSteps() <= 0 || steps < options.maxSteps())) {
                    List<long[]> prompts = new ArrayList<>();
                    List<long[]> answers = new ArrayList<>();
                    for (int i = 0; i < options.batchSize(); i++) {
                        long[] s = sequences.get(random.nextInt(sequences.size()));
                        prompts.add(new long[] {s[0]});
                        answers.add(java.util.Arrays.copyOfRange(s, 1, s.length));
                        tokens += s.length - 1;
                    }
                    float loss = training.step(CausalBatch.of(prompts, answers));
                    steps++;
                    if (steps == 1) {
                        first = loss;
                    }
                    window += loss;
                    inWindow++;
                    if (inWindow == 50) {
                        last = window / inWindow;
                        if (log != null) {
                            log.printf(
                                    Locale.ROOT,
                                    "  pretraining step %d: loss %.3f, %.0f tokens/s%n",
                                    steps,
                                    last,
                                    tokens / ((System.nanoTime() - t0) / 1e9));
                        }
                        window = 0;
                        inWindow = 0;
                    }
                }
            }
            if (inWindow > 0) {
                last = window / inWindow;
            }
            adapter = lm.getAdapter();
        }
        return new Result(
                fold(config, init, adapter, lora),
                steps,
                tokens,
                first,
                last,
                (System.nanoTime() - t0) / 1_000_000);
    }

    // W + s·B·A for every adapted projection, under the Llama HF names
    static DecoderWeights fold(
            DecoderConfig config,
            DecoderWeights init,
            Map<String, float[]> adapter,
            DecoderLora lora) {
        Map<String, FloatTensor> out = new LinkedHashMap<>(init.tensors());
        double s = lora.scaling();
        for (int i = 0; i < config.numLayers(); i++) {
            for (Module m : lora.targets()) {
                FloatTensor w = init.linear(config, i, m)[0].toFloatTensor();
                int o = w.dim(0);
                int in = w.dim(1);
                int r = lora.rank();
                float[] a = adapter.get(CausalLm.adapterName(i, m, LoraDense.LORA_A));
                float[] b = adapter.get(CausalLm.adapterName(i, m, LoraDense.LORA_B));
                float[] nw = w.data().clone();
                for (int row = 0; row < o; row++) {
                    for (int k = 0; k < r; k++) {
                        float bk = (float) (s * b[row * r + k]);
                        if (bk == 0) {
                            continue;
                        }
                        int aOff = k * in;
                        int wOff = row * in;
                        for (int c = 0; c < in; c++) {
                            nw[wOff + c] += bk * a[aOff + c];
                        }
                    }
                }
                String name =
                        DecoderWeights.layerName(
                                config,
                                i,
                                (m.isAttention() ? "self_attn." : "mlp.")
                                        + m.moduleName()
                                        + ".weight");
                out.put(name, new FloatTensor(new int[] {o, in}, nw));
            }
        }
        return DecoderWeights.of(out);
    }
}
