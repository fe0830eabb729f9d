package io.fedstream.worker;

import io.fedstream.schemas.Topics;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;

/**
 * Everything a site worker needs to know, with defaults that work against a local broker.
 *
 * @param bootstrapServers Kafka bootstrap servers
 * @param federationId the federation this worker contributes to
 * @param siteId this site's id (part of every update id)
 * @param updatesTopic where updates go
 * @param globalModelsTopic where global versions come from
 * @param maxRecordBytes largest record sent or fetched (updates and versions travel in chunks, so
 *     Kafka's default 1 MB suffices unless a federation's chunks are larger)
 * @param pause extra time a round takes at this site after training (to model slow sites)
 * @param waitForNewVersion train at most once per global version (otherwise keep training from the
 *     newest one)
 * @param maxUpdates stop after publishing this many updates (0: never)
 * @param clientProperties extra Kafka client properties (security, timeouts), applied last
 * @param signingKeyId id of the site's registered key, or null to publish unsigned updates
 * @param signingKey the site's Ed25519 private key, or null
 */
public record WorkerConfig(
        String bootstrapServers,
        String federationId,
        String siteId,
        String updatesTopic,
        String globalModelsTopic,
        int maxRecordBytes,
        Duration pause,
        boolean waitForNewVersion,
        int maxUpdates,
        Properties clientProperties,
        String signingKeyId,
        java.security.PrivateKey signingKey) {

    public WorkerConfig {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(federationId, "federationId");
        Objects.requireNonNull(siteId, "siteId");
        if (siteId.isBlank() || siteId.contains("/")) {
            throw new IllegalArgumentException(
                    "site id must be non-blank and without '/': " + siteId);
        }
        if (maxRecordBytes < 1024) {
            throw new IllegalArgumentException("maxRecordBytes too small: " + maxRecordBytes);
        }
        clientProperties = clientProperties == null ? new Properties() : clientProperties;
        if ((signingKeyId == null) != (signingKey == null)) {
            throw new IllegalArgumentException("a signing key needs its key id and vice versa");
        }
    }

    /** Defaults for a site of a federation on a cluster. */
    public static WorkerConfig defaults(
            String bootstrapServers, String federationId, String siteId) {
        return new WorkerConfig(
                bootstrapServers,
                federationId,
                siteId,
                Topics.ADAPTER_UPDATES,
                Topics.GLOBAL_MODELS,
                1024 * 1024,
                Duration.ZERO,
                true,
                0,
                new Properties(),
                null,
                null);
    }

    public WorkerConfig withPause(Duration p) {
        return new WorkerConfig(
                bootstrapServers,
                federationId,
                siteId,
                updatesTopic,
                globalModelsTopic,
                maxRecordBytes,
                p,
                waitForNewVersion,
                maxUpdates,
                clientProperties,
                signingKeyId,
                signingKey);
    }

    public WorkerConfig withMaxUpdates(int n) {
        return new WorkerConfig(
                bootstrapServers,
                federationId,
                siteId,
                updatesTopic,
                globalModelsTopic,
                maxRecordBytes,
                pause,
                waitForNewVersion,
                n,
                clientProperties,
                signingKeyId,
                signingKey);
    }

    public WorkerConfig withTopics(String updates, String globalModels) {
        return new WorkerConfig(
                bootstrapServers,
                federationId,
                siteId,
                updates,
                globalModels,
                maxRecordBytes,
                pause,
                waitForNewVersion,
                maxUpdates,
                clientProperties,
                signingKeyId,
                signingKey);
    }

    /** Signs every update with this key, registered for the site under {@code keyId}. */
    public WorkerConfig withSigningKey(String keyId, java.security.PrivateKey key) {
        return new WorkerConfig(
                bootstrapServers,
                federationId,
                siteId,
                updatesTopic,
                globalModelsTopic,
                maxRecordBytes,
                pause,
                waitForNewVersion,
                maxUpdates,
                clientProperties,
                keyId,
                key);
    }
}
