package io.fedstream.worker.fedpit;

import java.util.List;

/**
 * Where synthetic data comes from: a model that continues a prompt, greedily (temperature 0). The
 * site's own causal LM ({@link DecoderGenerator}) or an external server that speaks the
 * OpenAI-compatible chat-completions API ({@link ChatCompletionsGenerator}, e.g. vLLM or Ollama).
 */
public interface TextGenerator extends AutoCloseable {

    /**
     * The continuation of {@code prompt}: at most {@code maxNewTokens} tokens, ending before the
     * first of {@code stops} (the stop sequence itself is not returned).
     */
    String complete(String prompt, int maxNewTokens, List<String> stops);

    /**
     * Whether {@link #complete}'s prompt is one user turn the generator lays out in the model's
     * chat template ({@link SelfInstructPrompts#chatInstructionPrompt}), rather than text it
     * continues (the Alpaca few-shot prompts).
     */
    default boolean chat() {
        return false;
    }

    /** A short description for logs and reports. */
    String describe();

    @Override
    default void close() {}
}
