package io.fedstream.lab.bench;

import io.fedstream.schemas.avro.AdapterUpdate;
import java.util.concurrent.CompletableFuture;

/**
 * How a simulated site of {@code ./fedstream bench e2e} puts one update on the updates topic. The
 * bench measures everything else (broker baseline, job rounds, latency) in terms of what this
 * returns, so changing the wire format of an update is a new implementation, not a new bench.
 *
 * <p>Today an update is one Kafka record ({@link SingleRecordPublisher}). A chunked publisher
 * (records of at most a configured size plus a manifest, the design of the {@code chunks} branch)
 * implements the same method: it sends every record of the update and completes when all of them
 * are acknowledged, reporting the append time of the update's last record and the bytes and records
 * it used.
 */
interface UpdatePublisher extends AutoCloseable {

    /** Where and when the broker appended an update, and what it cost on the wire. */
    record Published(String updateId, long lastAppendTimeMs, long bytes, int records) {}

    /**
     * Sends the update; may block while the client's buffer is full (back-pressure). The future
     * completes when the broker has acknowledged every record of the update.
     */
    CompletableFuture<Published> publish(AdapterUpdate update);

    /** Sends whatever is buffered and waits for it. */
    void flush();

    @Override
    void close();
}
