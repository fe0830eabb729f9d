package io.fedstream.worker.prompt;

/**
 * A language model reached only through its API: text in, text out, no weights, no gradients, no
 * probabilities. FedDTPT's client sends its discrete prompt as the system message and one example
 * as the user message, and reads the reply as the predicted label. {@link ChatCompletionsClient}
 * talks to an OpenAI-compatible endpoint; {@link EncoderClassifier} is a local model behind the
 * same interface (and {@link ChatCompletionsServer} serves any of them over HTTP).
 */
public interface BlackBoxModel {
    /**
     * One API call.
     *
     * @param system the system message (the prompt being tuned)
     * @param user the user message (the text to classify)
     * @return the model's reply
     */
    String complete(String system, String user);
}
