package io.fedstream.worker.fedpit;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.decoder.ChatTemplate;
import io.fedstream.worker.decoder.GreedyDecoding;
import io.fedstream.worker.decoder.LoraCausalLm;
import java.util.List;

/**
 * The site's own causal LM as a {@link TextGenerator}: greedy decoding with a KV cache of whatever
 * the model currently holds (FedPIT loads base + global + local before generating). The prompt is
 * {@code [BOS] tokens(prompt)}, or with the checkpoint's chat template a user turn up to where the
 * assistant's answer begins ({@link ChatTemplate#prompt}); decoding stops at EOS, at the template's
 * end of turn, at {@code maxNewTokens} or as soon as the decoded text contains a stop sequence.
 * Calls are serialised on the model.
 */
public final class DecoderGenerator implements TextGenerator {
    private final LoraCausalLm lm;
    private final HuggingFaceTokenizer tokenizer;
    private final ChatTemplate template;

    /** Neither the model nor the tokenizer is closed by this generator. */
    public DecoderGenerator(LoraCausalLm lm, HuggingFaceTokenizer tokenizer) {
        this(lm, tokenizer, null);
    }

    /**
     * A generator whose prompts are user turns in {@code template} (null: plain text). Neither the
     * model nor the tokenizer is closed by this generator.
     */
    public DecoderGenerator(
            LoraCausalLm lm, HuggingFaceTokenizer tokenizer, ChatTemplate template) {
        this.lm = lm;
        this.tokenizer = tokenizer;
        this.template = template;
    }

    @Override
    public boolean chat() {
        return template != null;
    }

    @Override
    public String complete(String prompt, int maxNewTokens, List<String> stops) {
        if (template != null) {
            long[] out;
            synchronized (lm) {
                out =
                        GreedyDecoding.generate(
                                lm,
                                template.prompt(tokenizer, prompt),
                                maxNewTokens,
                                g -> g[g.length - 1] == template.endOfTurn() || hasStop(g, stops));
            }
            if (out.length > 0 && out[out.length - 1] == template.endOfTurn()) {
                out = java.util.Arrays.copyOf(out, out.length - 1);
            }
            return SelfInstructPrompts.cutAtStops(tokenizer.decode(out, true), stops);
        }
        long[] ids = tokenizer.encode(prompt).getIds();
        if (lm.config().hasBos()) {
            long[] withBos = new long[ids.length + 1];
            withBos[0] = lm.config().bosTokenId();
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            ids = withBos;
        }
        long[] out;
        synchronized (lm) {
            out = GreedyDecoding.generate(lm, ids, maxNewTokens, g -> hasStop(g, stops));
        }
        return SelfInstructPrompts.cutAtStops(tokenizer.decode(out, true), stops);
    }

    private boolean hasStop(long[] generated, List<String> stops) {
        if (stops.isEmpty()) {
            return false;
        }
        String text = tokenizer.decode(generated, true);
        return SelfInstructPrompts.cutAtStops(text, stops).length() < text.length();
    }

    @Override
    public String describe() {
        return "site decoder ("
                + lm.config().family()
                + (template != null ? ", " + template.kind() + " chat template" : "")
                + ", greedy)";
    }
}
