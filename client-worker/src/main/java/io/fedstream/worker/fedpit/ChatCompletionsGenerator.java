package io.fedstream.worker.fedpit;

import io.fedstream.worker.prompt.ChatCompletionsClient;
import io.fedstream.worker.prompt.ChatCompletionsClient.BlackBoxException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * A {@link TextGenerator} backed by a model server that speaks the OpenAI-compatible
 * chat-completions API ({@code POST {baseUrl}/chat/completions}, as vLLM, Ollama, llama.cpp's
 * server and others do), through the worker's one {@link ChatCompletionsClient}: the prompt is sent
 * as the one user message (after an optional system message), with {@code temperature 0} (greedy),
 * {@code max_tokens} and {@code stop} (at most 4 sequences, the API's limit); the reply is {@code
 * choices[0].message.content}, cut at the stops again in case the server ignores them. Non-2xx
 * answers, timeouts and malformed bodies throw {@link UncheckedIOException}.
 *
 * @see <a href="https://platform.openai.com/docs/api-reference/chat/create">the API</a>
 */
public final class ChatCompletionsGenerator implements TextGenerator {

    /**
     * @param baseUrl the API root, e.g. {@code http://localhost:8000/v1}
     * @param model the served model's name
     * @param apiKey sent as {@code Authorization: Bearer}; null for none
     * @param systemPrompt a system message before the prompt; null for none
     * @param timeout per request
     */
    public record Config(
            URI baseUrl, String model, String apiKey, String systemPrompt, Duration timeout) {
        public Config {
            if (baseUrl == null || model == null || model.isBlank() || timeout == null) {
                throw new IllegalArgumentException("base URL, model and timeout are needed");
            }
        }

        public URI endpoint() {
            String s = baseUrl.toString();
            return URI.create((s.endsWith("/") ? s : s + "/") + "chat/completions");
        }
    }

    private final Config config;
    private final ChatCompletionsClient client;

    public ChatCompletionsGenerator(Config config) {
        this.config = config;
        this.client =
                new ChatCompletionsClient(
                        config.baseUrl(),
                        config.model(),
                        config.apiKey(),
                        0,
                        config.timeout(),
                        ChatCompletionsClient.http(config.timeout()));
    }

    @Override
    public String complete(String prompt, int maxNewTokens, List<String> stops) {
        try {
            return SelfInstructPrompts.cutAtStops(
                    client.chat(config.systemPrompt(), prompt, maxNewTokens, stops), stops);
        } catch (BlackBoxException e) {
            throw new UncheckedIOException(
                    new IOException("chat completion: " + e.getMessage(), e));
        }
    }

    /** {@code choices[0].message.content} of a response body. */
    static String content(String body) {
        try {
            return ChatCompletionsClient.content(body);
        } catch (BlackBoxException e) {
            throw new UncheckedIOException("malformed chat completion", new IOException(e));
        }
    }

    @Override
    public String describe() {
        return "chat completions " + config.model() + " at " + config.baseUrl();
    }
}
