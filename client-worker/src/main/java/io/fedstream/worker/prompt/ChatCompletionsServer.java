package io.fedstream.worker.prompt;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serves a {@link BlackBoxModel} as an OpenAI-compatible {@code POST /v1/chat/completions} on the
 * loopback interface (for tests and {@code ./fedstream local}): the request's system messages are
 * joined as the model's system text, its user messages as the user text, and the reply is returned
 * as {@code choices[0].message.content}. Requests are served one at a time. Bad requests get HTTP
 * 400 with an OpenAI-style error body.
 */
public final class ChatCompletionsServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;
    private final AtomicLong requests = new AtomicLong();

    private ChatCompletionsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Starts serving {@code model} on 127.0.0.1:{@code port} (0 = any free port). */
    public static ChatCompletionsServer start(BlackBoxModel model, String modelName, int port)
            throws IOException {
        HttpServer server =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        ExecutorService executor =
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "chat-completions-server");
                            t.setDaemon(true);
                            return t;
                        });
        ChatCompletionsServer s = new ChatCompletionsServer(server, executor);
        server.createContext("/v1/chat/completions", ex -> s.handle(ex, model, modelName));
        server.setExecutor(executor);
        server.start();
        return s;
    }

    /** The base URL for {@link ChatCompletionsClient}, e.g. {@code http://127.0.0.1:40123/v1}. */
    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
    }

    /** Requests answered (successfully or not). */
    public long requests() {
        return requests.get();
    }

    private void handle(HttpExchange ex, BlackBoxModel model, String modelName) throws IOException {
        requests.incrementAndGet();
        try (ex) {
            if (!"POST".equals(ex.getRequestMethod())) {
                HttpReplies.send(
                        ex, 405, HttpReplies.JSON, error("only POST is supported").toString());
                return;
            }
            JsonNode request;
            try {
                request = JSON.readTree(ex.getRequestBody());
            } catch (IOException e) {
                HttpReplies.send(
                        ex, 400, HttpReplies.JSON, error("request body is not JSON").toString());
                return;
            }
            JsonNode messages = request == null ? null : request.get("messages");
            if (messages == null || !messages.isArray() || messages.isEmpty()) {
                HttpReplies.send(
                        ex,
                        400,
                        HttpReplies.JSON,
                        error("messages must be a non-empty array").toString());
                return;
            }
            StringBuilder system = new StringBuilder();
            StringBuilder user = new StringBuilder();
            for (JsonNode m : messages) {
                String role = m.path("role").asText();
                String content = m.path("content").asText();
                StringBuilder target =
                        "system".equals(role) ? system : "user".equals(role) ? user : null;
                if (target != null) {
                    if (!target.isEmpty()) {
                        target.append('\n');
                    }
                    target.append(content);
                }
            }
            String reply;
            try {
                reply = model.complete(system.toString(), user.toString());
            } catch (RuntimeException e) {
                HttpReplies.send(
                        ex,
                        500,
                        HttpReplies.JSON,
                        error("model failed: " + e.getMessage()).toString());
                return;
            }
            ObjectNode body = JSON.createObjectNode();
            body.put("id", "chatcmpl-" + requests.get());
            body.put("object", "chat.completion");
            body.put("model", modelName);
            ObjectNode choice = body.putArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", reply);
            choice.put("finish_reason", "stop");
            HttpReplies.send(ex, 200, HttpReplies.JSON, body.toString());
        }
    }

    private static ObjectNode error(String message) {
        ObjectNode body = JSON.createObjectNode();
        body.putObject("error").put("message", message).put("type", "invalid_request_error");
        return body;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
