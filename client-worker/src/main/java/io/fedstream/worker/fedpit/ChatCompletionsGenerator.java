package io.fedstream.worker.fedpit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * A {@link TextGenerator} backed by a model server that speaks the OpenAI-compatible
 * chat-completions API ({@code POST {baseUrl}/chat/completions}, as vLLM, Ollama, llama.cpp's
 * server and others do): the prompt is sent as the one user message (after an optional system
 * message), with {@code temperature 0} (greedy), {@code max_tokens} and {@code stop} (at most 4
 * sequences, the API's limit); the reply is {@code choices[0].message.content}, cut at the stops
 * again in case the server ignores them. Non-2xx answers, timeouts and malformed bodies throw
 * {@link UncheckedIOException}.
 *
 * @see <a href="https://platform.openai.com/docs/api-reference/chat/create">the API</a>
 */
public final class ChatCompletionsGenerator implements TextGenerator {
    private static final ObjectMapper JSON = new ObjectMapper();

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
    private final HttpClient http;

    public ChatCompletionsGenerator(Config config) {
        this.config = config;
        this.http =
                HttpClient.newBuilder()
                        .connectTimeout(config.timeout())
                        .version(HttpClient.Version.HTTP_1_1)
                        .build();
    }

    /** The request body for a prompt. */
    String requestBody(String prompt, int maxNewTokens, List<String> stops) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", config.model());
        ArrayNode messages = body.putArray("messages");
        if (config.systemPrompt() != null) {
            messages.addObject().put("role", "system").put("content", config.systemPrompt());
        }
        messages.addObject().put("role", "user").put("content", prompt);
        body.put("max_tokens", maxNewTokens);
        body.put("temperature", 0.0);
        body.put("n", 1);
        if (!stops.isEmpty()) {
            ArrayNode s = body.putArray("stop");
            stops.stream().limit(4).forEach(s::add);
        }
        return body.toString();
    }

    @Override
    public String complete(String prompt, int maxNewTokens, List<String> stops) {
        HttpRequest.Builder req =
                HttpRequest.newBuilder(config.endpoint())
                        .timeout(config.timeout())
                        .header("Content-Type", "application/json")
                        .POST(
                                HttpRequest.BodyPublishers.ofString(
                                        requestBody(prompt, maxNewTokens, stops),
                                        StandardCharsets.UTF_8));
        if (config.apiKey() != null) {
            req.header("Authorization", "Bearer " + config.apiKey());
        }
        HttpResponse<String> response;
        try {
            response = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException("chat completion failed: " + config.endpoint(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException("interrupted", e));
        }
        if (response.statusCode() / 100 != 2) {
            throw new UncheckedIOException(
                    new IOException(
                            "chat completion: HTTP "
                                    + response.statusCode()
                                    + " from "
                                    + config.endpoint()
                                    + ": "
                                    + abbreviate(response.body())));
        }
        return SelfInstructPrompts.cutAtStops(content(response.body()), stops);
    }

    /** {@code choices[0].message.content} of a response body. */
    static String content(String body) {
        try {
            JsonNode c =
                    JSON.readTree(body).path("choices").path(0).path("message").path("content");
            if (!c.isTextual()) {
                throw new IOException("no choices[0].message.content in " + abbreviate(body));
            }
            return c.asText();
        } catch (IOException e) {
            throw new UncheckedIOException("malformed chat completion", e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    @Override
    public String describe() {
        return "chat completions " + config.model() + " at " + config.baseUrl();
    }
}
