package io.fedstream.worker.decoder;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.djl.AdapterSiteTrainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A site's local instruction tuning of a LoRA-adapted causal LM ({@link LoraCausalLm}) on
 * generative data (Alpaca/Dolly-style instruction, input, output).
 *
 * <p>Each example becomes {@code [BOS] prompt} + {@code output [EOS]} ({@link
 * InstructionExample#prompt()}, {@link CausalBatch#encode}), tokenised once at construction and cut
 * to {@link Options#maxTokens()}. {@link #train} writes the global adapter, runs {@link
 * Options#localEpochs()} epochs of mini-batch Adam on the cross-entropy of the answer tokens only
 * (prompt tokens are context, not targets), and returns {@code trained − global}. {@link #evaluate}
 * reports, on the held-out examples, the mean negative log-likelihood per answer token as the loss
 * (its exponential is the answer perplexity) and the share of answer tokens that are the model's
 * top-1 prediction as the accuracy. Batch order and dropout derive from {@link Options#seed()}, the
 * base version and the round, so runs are reproducible.
 */
public final class CausalLmSiteTrainer extends AdapterSiteTrainer<LoraCausalLm> {
    public static final String ANSWER_TOKENS = "answer_tokens";

    private static final int EVAL_BATCH = 16;

    /**
     * Local training settings.
     *
     * @param maxTokens longest example (prompt and answer, special tokens included)
     * @param batchSize mini-batch size
     * @param localEpochs passes over the local examples per {@link #train} call
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

    private final Options options;
    private final CausalBatch train;
    private final CausalBatch eval;

    /**
     * @param model shared or owned; several trainers may share one model
     * @param ownsModel whether {@link #close()} closes {@code model}
     * @param tokenizer the model's tokenizer, used here only; must not add special tokens
     * @param train the site's training examples (at least one)
     * @param eval the site's held-out examples (may be empty)
     */
    public CausalLmSiteTrainer(
            LoraCausalLm model,
            boolean ownsModel,
            HuggingFaceTokenizer tokenizer,
            List<InstructionExample> train,
            List<InstructionExample> eval,
            Options options) {
        this(model, ownsModel, tokenizer, null, train, eval, options);
    }

    /**
     * A trainer whose examples are laid out in the checkpoint's chat template: the user turn is the
     * instruction (and its input after a blank line), the assistant turn the output; with a null
     * {@code template}, the Alpaca layout of {@link InstructionExample#prompt()}.
     */
    public CausalLmSiteTrainer(
            LoraCausalLm model,
            boolean ownsModel,
            HuggingFaceTokenizer tokenizer,
            ChatTemplate template,
            List<InstructionExample> train,
            List<InstructionExample> eval,
            Options options) {
        super(model, ownsModel);
        if (train.isEmpty()) {
            throw new IllegalArgumentException("a site needs training examples");
        }
        int limit = Math.min(options.maxTokens(), model.config().maxPositions());
        this.options = options;
        this.train = encode(tokenizer, template, model.config(), train, limit);
        this.eval =
                eval.isEmpty() ? null : encode(tokenizer, template, model.config(), eval, limit);
    }

    static CausalBatch encode(
            HuggingFaceTokenizer tokenizer,
            DecoderConfig config,
            List<InstructionExample> examples,
            int maxTokens) {
        return encode(tokenizer, null, config, examples, maxTokens);
    }

    static CausalBatch encode(
            HuggingFaceTokenizer tokenizer,
            ChatTemplate template,
            DecoderConfig config,
            List<InstructionExample> examples,
            int maxTokens) {
        List<long[]> prompts = new ArrayList<>();
        List<long[]> answers = new ArrayList<>();
        for (InstructionExample e : examples) {
            long[][] pa = CausalTraining.encode(tokenizer, template, config, e, maxTokens);
            prompts.add(pa[0]);
            answers.add(pa[1]);
        }
        return CausalBatch.of(prompts, answers);
    }

    /** The user turn of an example in a chat layout: the instruction, then its input if any. */
    public static String userTurn(InstructionExample e) {
        return e.input().isBlank() ? e.instruction() : e.instruction() + "\n\n" + e.input();
    }

    @Override
    public TrainResult train(Map<String, float[]> global, long baseVersion) {
        synchronized (model) {
            Map<String, float[]> start = loadCopy(global);
            SplittableRandom random =
                    new SplittableRandom(nextRoundSeed(options.seed(), baseVersion));
            int[] order = Sampling.range(train.batchSize());
            long answerTokens = 0;
            Round counts = new Round(start);
            try (LoraCausalLm.Training training =
                    model.newTraining(options.learningRate(), random.nextLong())) {
                for (int epoch = 0; epoch < options.localEpochs(); epoch++) {
                    Sampling.shuffle(order, random);
                    for (int[] rows : Sampling.batches(order, options.batchSize())) {
                        CausalBatch batch = train.select(rows);
                        if (batch.answerTokens() == 0) {
                            continue;
                        }
                        counts.step(training.step(batch));
                        answerTokens += batch.answerTokens();
                    }
                }
            }
            Finished done = counts.finish();
            done.metrics().put(ANSWER_TOKENS, (double) answerTokens);
            return new TrainResult(done.delta(), train.batchSize(), done.metrics());
        }
    }

    /** Mean answer-token NLL (loss) and top-1 answer-token accuracy on the held-out examples. */
    @Override
    public EvalResult evaluate(Map<String, float[]> adapter) {
        if (eval == null) {
            return new EvalResult(Double.NaN, Double.NaN, 0);
        }
        synchronized (model) {
            model.setAdapter(adapter);
            LoraCausalLm.AnswerLoss l = score(eval);
            return new EvalResult(l.mean(), l.accuracy(), eval.batchSize());
        }
    }

    /** The same scores on the training examples. */
    public EvalResult evaluateTrain(Map<String, float[]> adapter) {
        synchronized (model) {
            model.setAdapter(adapter);
            LoraCausalLm.AnswerLoss l = score(train);
            return new EvalResult(l.mean(), l.accuracy(), train.batchSize());
        }
    }

    private LoraCausalLm.AnswerLoss score(CausalBatch data) {
        LoraCausalLm.AnswerLoss total = new LoraCausalLm.AnswerLoss(0, 0, 0);
        int n = data.batchSize();
        for (int from = 0; from < n; from += EVAL_BATCH) {
            int[] rows = new int[Math.min(n, from + EVAL_BATCH) - from];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = from + i;
            }
            total = total.plus(model.answerLoss(data.select(rows)));
        }
        return total;
    }

    public int numTrainExamples() {
        return train.batchSize();
    }

    public int numEvalExamples() {
        return eval == null ? 0 : eval.batchSize();
    }
}
