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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * The one client of an OpenAI-compatible {@code POST <baseUrl>/chat/completions} endpoint (OpenAI,
 * vLLM, llama.cpp server, Ollama, ... or {@link ChatCompletionsServer}), used as the prompt tuner's
 * black box and, through {@code fedpit.ChatCompletionsGenerator}, as FedPIT's generator. Each call
 * sends {@code {"model", "messages": [system?, user], "temperature": 0, "max_tokens", "stop"?}} (at
 * most 4 stop sequences, the API's limit) and returns {@code choices[0].message.content}. Non-2xx
 * answers and malformed bodies raise {@link BlackBoxException}, failed connections {@link
 * UncheckedIOException}.
 *
 * <p>Own code on java.net.http and the worker's Jackson, not openai-java or langchain4j-open-ai:
 * one request shape and one field of the reply, where those add megabytes (Kotlin and OkHttp, or
 * langchain4j's core) to the site's image; see docs/design.md.
 *
 * @param baseUrl e.g. {@code https://api.openai.com/v1} or {@code http://127.0.0.1:8080/v1}
 * @param model the model name sent in the request
 * @param apiKey sent as {@code Authorization: Bearer}; null or blank sends none
 * @param maxTokens the reply's token limit for {@link #complete(String, String)} (a label needs
 *     few)
 * @param timeout per request
 * @param http the HTTP client (HTTP/1.1: some model servers mishandle the HTTP/2 upgrade)
 */
public record ChatCompletionsClient(
        URI baseUrl, String model, String apiKey, int maxTokens, Duration timeout, HttpClient http)
        implements BlackBoxModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The API's limit on stop sequences. */
    public static final int MAX_STOPS = 4;

    public ChatCompletionsClient(URI baseUrl, String model, String apiKey) {
        this(baseUrl, model, apiKey, 8, Duration.ofSeconds(60), http(Duration.ofSeconds(10)));
    }

    /** An HTTP/1.1 client with the given connect timeout. */
    public static HttpClient http(Duration connectTimeout) {
        return HttpClient.newBuilder()
                .connectTimeout(connectTimeout)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
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
        return chat(system, user, maxTokens, List.of());
    }

    /**
     * One greedy chat completion.
     *
     * @param system the system message; null sends none
     * @param user the user message
     * @param maxTokens the reply's token limit
     * @param stops stop sequences, the first {@value #MAX_STOPS} are sent
     * @return {@code choices[0].message.content}
     */
    public String chat(String system, String user, int maxTokens, List<String> stops) {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(endpoint())
                        .timeout(timeout)
                        .header("Content-Type", "application/json")
                        .POST(
                                HttpRequest.BodyPublishers.ofString(
                                        requestBody(system, user, maxTokens, stops),
                                        StandardCharsets.UTF_8));
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
        return content(response.body());
    }

    /** The request body of {@link #chat}. */
    public String requestBody(String system, String user, int maxTokens, List<String> stops) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        ArrayNode messages = body.putArray("messages");
        if (system != null) {
            messages.addObject().put("role", "system").put("content", system);
        }
        messages.addObject().put("role", "user").put("content", user);
        body.put("temperature", 0);
        body.put("max_tokens", maxTokens);
        if (!stops.isEmpty()) {
            ArrayNode s = body.putArray("stop");
            stops.stream().limit(MAX_STOPS).forEach(s::add);
        }
        return body.toString();
    }

    /** {@code choices[0].message.content} of a response body. */
    public static String content(String body) {
        JsonNode content;
        try {
            content = JSON.readTree(body).path("choices").path(0).path("message").path("content");
        } catch (IOException e) {
            throw new BlackBoxException("not JSON: " + abbreviate(body));
        }
        if (!content.isTextual()) {
            throw new BlackBoxException("no choices[0].message.content in " + abbreviate(body));
        }
        return content.asText();
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
