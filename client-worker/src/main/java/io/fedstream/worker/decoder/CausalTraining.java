package io.fedstream.worker.decoder;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Sampling;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Local training of a {@link LoraCausalLm}'s adapter on instruction examples: from a given adapter,
 * {@link Options#localEpochs()} epochs of mini-batch Adam (fresh moments) over the examples in a
 * shuffled order, loss on the answer tokens. Batch order and dropout come from one seed, so a run
 * is reproducible, and it is the computation of the plain FedIT trainer ({@link
 * CausalLmSiteTrainer}: same seed derivation, batch order and steps), so FedPIT at β = 1 returns
 * the same delta (tested).
 */
public final class CausalTraining {

    private CausalTraining() {}

    /**
     * @param maxTokens longest tokenised example (prompt cut from the left, then the answer)
     * @param batchSize mini-batch size
     * @param localEpochs passes over the examples per round
     * @param learningRate Adam's learning rate
     * @param seed base seed of batch order and dropout
     */
    public record Options(
            int maxTokens, int batchSize, int localEpochs, double learningRate, long seed) {
        public Options {
            if (maxTokens < 2 || batchSize < 1 || localEpochs < 0 || !(learningRate > 0)) {
                throw new IllegalArgumentException("bad options " + this);
            }
        }
    }

    /** Tokenised examples: {@code [prompt ids, answer ids]} each. */
    public record Encoded(List<long[][]> rows) {
        public Encoded {
            rows = List.copyOf(rows);
        }

        public int size() {
            return rows.size();
        }

        /** Every example's Alpaca prompt and output, as {@link CausalBatch#encode} tokenises. */
        public static Encoded of(
                HuggingFaceTokenizer tokenizer,
                DecoderConfig config,
                List<InstructionExample> examples,
                int maxTokens) {
            return of(tokenizer, null, config, examples, maxTokens);
        }

        /** Every example as {@link CausalTraining#encode} lays it out. */
        public static Encoded of(
                HuggingFaceTokenizer tokenizer,
                ChatTemplate template,
                DecoderConfig config,
                List<InstructionExample> examples,
                int maxTokens) {
            List<long[][]> rows = new ArrayList<>();
            for (InstructionExample e : examples) {
                rows.add(encode(tokenizer, template, config, e, maxTokens));
            }
            return new Encoded(rows);
        }

        /** These rows followed by {@code other}'s. */
        public Encoded plus(Encoded other) {
            List<long[][]> all = new ArrayList<>(rows);
            all.addAll(other.rows);
            return new Encoded(all);
        }

        /** Rows {@code idx} as one padded batch. */
        public CausalBatch batch(int[] idx) {
            List<long[]> prompts = new ArrayList<>();
            List<long[]> answers = new ArrayList<>();
            for (int i : idx) {
                prompts.add(rows.get(i)[0]);
                answers.add(rows.get(i)[1]);
            }
            return CausalBatch.of(prompts, answers);
        }
    }

    /**
     * One instruction example as {@code [prompt ids, answer ids]} (the answer is what the loss
     * scores): in the checkpoint's chat template, the user turn {@link
     * CausalLmSiteTrainer#userTurn} and the assistant turn the output; with a null {@code
     * template}, the Alpaca layout of {@link InstructionExample#prompt()} ({@link
     * CausalBatch#encode}). At most {@code maxTokens}, the prompt cut from the left.
     */
    public static long[][] encode(
            HuggingFaceTokenizer tokenizer,
            ChatTemplate template,
            DecoderConfig config,
            InstructionExample e,
            int maxTokens) {
        return template == null
                ? CausalBatch.encode(tokenizer, config, e.prompt(), e.output(), maxTokens)
                : template.encode(
                        tokenizer, CausalLmSiteTrainer.userTurn(e), e.output(), maxTokens);
    }

    /**
     * The seed of a round's local training, as {@link CausalLmSiteTrainer} derives it: from the
     * site seed, the base version and the trainer's round count.
     */
    public static long roundSeed(long seed, long baseVersion, long round) {
        return Sampling.streamSeed(seed, baseVersion, round);
    }

    /** A training's outcome: the trained adapter, the steps taken and their mean loss. */
    public record Result(Map<String, float[]> adapter, long steps, double meanLoss, long millis) {}

    /**
     * Loads {@code start} into the model, trains it on {@code data} and returns the trained adapter
     * (the model keeps it). No examples or no epochs: the adapter comes back unchanged.
     *
     * @param streamSeed the seed of this run's batch order and dropout
     */
    public static Result train(
            LoraCausalLm lm,
            Map<String, float[]> start,
            Encoded data,
            Options options,
            long streamSeed) {
        lm.setAdapter(start);
        SplittableRandom random = new SplittableRandom(streamSeed);
        int[] order = Sampling.range(data.size());
        long steps = 0;
        double lossSum = 0;
        long t0 = System.nanoTime();
        if (data.size() > 0 && options.localEpochs() > 0) {
            try (LoraCausalLm.Training training =
                    lm.newTraining(options.learningRate(), random.nextLong())) {
                for (int epoch = 0; epoch < options.localEpochs(); epoch++) {
                    Sampling.shuffle(order, random);
                    for (int from = 0; from < order.length; from += options.batchSize()) {
                        int to = Math.min(order.length, from + options.batchSize());
                        lossSum += training.step(data.batch(Arrays.copyOfRange(order, from, to)));
                        steps++;
                    }
                }
            }
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        return new Result(
                lm.getAdapter(), steps, steps == 0 ? Double.NaN : lossSum / steps, millis);
    }

    /** Summed answer NLL of {@code data} under the model's current adapter, in batches. */
    public static LoraCausalLm.AnswerLoss answerLoss(LoraCausalLm lm, Encoded data, int batch) {
        LoraCausalLm.AnswerLoss total = new LoraCausalLm.AnswerLoss(0, 0, 0);
        for (int from = 0; from < data.size(); from += batch) {
            int to = Math.min(data.size(), from + batch);
            int[] idx = new int[to - from];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = from + i;
            }
            total = total.plus(lm.answerLoss(data.batch(idx)));
        }
        return total;
    }
}
