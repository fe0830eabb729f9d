package io.fedstream.worker;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** One reply of the JDK's HTTP server, for the worker's health endpoint and its model servers. */
public final class HttpReplies {
    /** The content type of plain-text replies. */
    public static final String TEXT = "text/plain; charset=utf-8";

    /** The content type of JSON replies. */
    public static final String JSON = "application/json";

    private HttpReplies() {}

    /** Sends {@code status} and {@code body} (UTF-8) as {@code contentType}; no body to a HEAD. */
    public static void send(HttpExchange ex, int status, String contentType, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
