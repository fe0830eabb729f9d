package io.fedstream.worker.fedpit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fedstream.worker.HttpReplies;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A minimal OpenAI-compatible chat-completions server on loopback for tests, backed by a {@link
 * TextGenerator} (the project's own decoder): the user messages' contents, joined, are the prompt;
 * {@code max_tokens} and {@code stop} are honoured.
 */
final class LoopbackChatServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final TextGenerator backend;
    private final String apiKey;
    final List<JsonNode> requests = new CopyOnWriteArrayList<>();

    LoopbackChatServer(TextGenerator backend, String apiKey) throws IOException {
        this.backend = backend;
        this.apiKey = apiKey;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/chat/completions", this::handle);
        server.start();
    }

    URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("POST")) {
                HttpReplies.send(ex, 405, HttpReplies.JSON, "{\"error\":\"POST only\"}");
                return;
            }
            if (apiKey != null
                    && !("Bearer " + apiKey)
                            .equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                HttpReplies.send(
                        ex, 401, HttpReplies.JSON, "{\"error\":{\"message\":\"bad key\"}}");
                return;
            }
            JsonNode req = JSON.readTree(ex.getRequestBody());
            requests.add(req);
            StringBuilder prompt = new StringBuilder();
            for (JsonNode m : req.path("messages")) {
                if (m.path("role").asText().equals("user")) {
                    prompt.append(m.path("content").asText());
                }
            }
            List<String> stops = new ArrayList<>();
            req.path("stop").forEach(s -> stops.add(s.asText()));
            String text =
                    backend.complete(prompt.toString(), req.path("max_tokens").asInt(16), stops);
            ObjectNode resp = JSON.createObjectNode();
            resp.put("id", "chatcmpl-" + requests.size());
            resp.put("object", "chat.completion");
            resp.put("model", req.path("model").asText());
            ObjectNode choice = resp.putArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", text);
            choice.put("finish_reason", "stop");
            HttpReplies.send(ex, 200, HttpReplies.JSON, resp.toString());
        } catch (RuntimeException e) {
            HttpReplies.send(
                    ex,
                    500,
                    HttpReplies.JSON,
                    "{\"error\":\"" + e.getClass().getSimpleName() + "\"}");
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
