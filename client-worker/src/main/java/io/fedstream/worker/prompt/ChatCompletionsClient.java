package io.fedstream.worker.prompt;

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
import java.time.Duration;

/**
 * A black-box model behind an OpenAI-compatible {@code POST <baseUrl>/chat/completions} endpoint
 * (OpenAI, vLLM, llama.cpp server, Ollama, ... or {@link ChatCompletionsServer}). Each call sends
 * {@code {"model", "messages": [system, user], "temperature": 0, "max_tokens"}} and returns {@code
 * choices[0].message.content}. Non-2xx answers and malformed bodies raise {@link
 * BlackBoxException}.
 *
 * @param baseUrl e.g. {@code https://api.openai.com/v1} or {@code http://127.0.0.1:8080/v1}
 * @param model the model name sent in the request
 * @param apiKey sent as {@code Authorization: Bearer}; null or blank sends none
 * @param maxTokens the reply's token limit (a label needs few)
 * @param timeout per request
 */
public record ChatCompletionsClient(
        URI baseUrl, String model, String apiKey, int maxTokens, Duration timeout, HttpClient http)
        implements BlackBoxModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ChatCompletionsClient(URI baseUrl, String model, String apiKey) {
        this(
                baseUrl,
                model,
                apiKey,
                8,
                Duration.ofSeconds(60),
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build());
    }

    /** The endpoint URL: the base URL with {@code /chat/completions} appended. */
    public URI endpoint() {
        String base = baseUrl.toString();
        return URI.create(
                (base.endsWith("/") ? base.substring(0, base.length() - 1) : base)
                        + "/chat/completions");
    }

    @Override
    public String complete(String system, String user) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        ArrayNode messages = body.putArray("messages");
        messages.addObject().put("role", "system").put("content", system);
        messages.addObject().put("role", "user").put("content", user);
        body.put("temperature", 0);
        body.put("max_tokens", maxTokens);
        HttpRequest.Builder request =
                HttpRequest.newBuilder(endpoint())
                        .timeout(timeout)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null && !apiKey.isBlank()) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException("chat completions call to " + endpoint() + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BlackBoxException("interrupted while calling " + endpoint());
        }
        if (response.statusCode() / 100 != 2) {
            throw new BlackBoxException(
                    "chat completions at "
                            + endpoint()
                            + " answered HTTP "
                            + response.statusCode()
                            + ": "
                            + abbreviate(response.body()));
        }
        try {
            JsonNode content =
                    JSON.readTree(response.body())
                            .path("choices")
                            .path(0)
                            .path("message")
                            .path("content");
            if (!content.isTextual()) {
                throw new BlackBoxException(
                        "no choices[0].message.content in " + abbreviate(response.body()));
            }
            return content.asText();
        } catch (IOException e) {
            throw new BlackBoxException("not JSON: " + abbreviate(response.body()));
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    /** The endpoint failed or answered something that is not a chat completion. */
    public static final class BlackBoxException extends RuntimeException {
        public BlackBoxException(String message) {
            super(message);
        }
    }
}
