package io.fedstream.worker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
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
                HttpReplies.send(ex, 405, HttpReplies.TEXT, "method not allowed\n");
            } else if (!path.equals("/healthz") && !path.equals("/readyz")) {
                HttpReplies.send(ex, 404, HttpReplies.TEXT, "not found\n");
            } else {
                boolean ok;
                try {
                    ok = check.getAsBoolean();
                } catch (RuntimeException e) {
                    ok = false;
                }
                HttpReplies.send(
                        ex, ok ? 200 : 503, HttpReplies.TEXT, ok ? "ok\n" : "unavailable\n");
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
