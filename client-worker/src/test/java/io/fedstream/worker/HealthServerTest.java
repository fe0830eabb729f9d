package io.fedstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class HealthServerTest {
    private final HttpClient http = HttpClient.newHttpClient();

    private int get(HealthServer s, String path) throws Exception {
        return http.send(
                        HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + path))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }

    @Test
    void answersFromTheChecks() throws Exception {
        AtomicBoolean live = new AtomicBoolean(true);
        AtomicBoolean ready = new AtomicBoolean(false);
        try (HealthServer s = HealthServer.start(0, live::get, ready::get)) {
            assertThat(get(s, "/healthz")).isEqualTo(200);
            assertThat(get(s, "/readyz")).isEqualTo(503);
            ready.set(true);
            assertThat(get(s, "/readyz")).isEqualTo(200);
            live.set(false);
            assertThat(get(s, "/healthz")).isEqualTo(503);
            assertThat(get(s, "/metrics")).isEqualTo(404);
            assertThat(get(s, "/healthz/x")).isEqualTo(404);
        }
    }

    @Test
    void aThrowingCheckIsUnavailable() throws Exception {
        try (HealthServer s =
                HealthServer.start(
                        0,
                        () -> {
                            throw new IllegalStateException("boom");
                        },
                        () -> true)) {
            assertThat(get(s, "/healthz")).isEqualTo(503);
        }
    }
}
