package io.fedstream.worker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * A tiny HTTP server for Kubernetes probes: {@code GET /healthz} answers 200 while the process is
 * alive and {@code live} holds (the worker's loop has not failed), {@code GET /readyz} 200 while
 * {@code ready} holds (the worker has read the newest global version), 503 otherwise. Nothing else
 * is served.
 */
public final class HealthServer implements AutoCloseable {
    private final HttpServer server;

    private HealthServer(HttpServer server) {
        this.server = server;
    }

    /** Starts serving on {@code port} (0 picks a free one) on all interfaces. */
    public static HealthServer start(int port, BooleanSupplier live, BooleanSupplier ready)
            throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/healthz", ex -> answer(ex, live));
        server.createContext("/readyz", ex -> answer(ex, ready));
        server.setExecutor(
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "health-server");
                            t.setDaemon(true);
                            return t;
                        }));
        server.start();
        return new HealthServer(server);
    }

    /** The port the server listens on. */
    public int port() {
        return server.getAddress().getPort();
    }

    private static void answer(HttpExchange ex, BooleanSupplier check) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                send(ex, 405, "method not allowed\n");
            } else if (!path.equals("/healthz") && !path.equals("/readyz")) {
                send(ex, 404, "not found\n");
            } else {
                boolean ok;
                try {
                    ok = check.getAsBoolean();
                } catch (RuntimeException e) {
                    ok = false;
                }
                send(ex, ok ? 200 : 503, ok ? "ok\n" : "unavailable\n");
            }
        }
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
