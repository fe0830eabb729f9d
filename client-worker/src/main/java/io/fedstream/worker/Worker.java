package io.fedstream.worker;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.ErrorFeedback;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.UpdateEncoding;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.InvalidOffsetException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A site's long-running loop: follow the federation's global versions (read_committed), train from
 * the newest with the {@link SiteTrainer}, publish the delta, repeat at the site's own pace.
 *
 * <p>Update ids are stable: {@code <site>/v<base>} for the first update from a base version (and
 * {@code #n} for further ones when {@code waitForNewVersion} is off), so a worker that restarts and
 * trains again from the same version produces the same id and the job counts it once. The producer
 * is idempotent, so retries inside Kafka do not duplicate either.
 *
 * <p>Updates travel chunked: the delta's tensors, concatenated in spec order, are cut into chunks
 * of the federation's {@code chunkElements} (taken from the global version the worker trained from,
 * which records it), sent as {@code UpdateChunk} records, then the {@code UpdateManifest} with
 * every chunk's digest, which commits the update. Global versions arrive chunked as well and are
 * reassembled and verified by a {@link GlobalModelAssembler}.
 *
 * <p>With a signing key configured, every update's manifest carries the site's Ed25519 signature
 * ({@link UpdateSigning}), which the job verifies against its registry of site keys.
 *
 * <p>Kafka errors are sorted by kind: retriable ones are retried with backoff; authentication,
 * authorisation and other fatal ones stop the worker with the cause in {@link #failure()}.
 */
public final class Worker implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    private static final Duration POLL = Duration.ofMillis(200);

    /** Records read from the end of each partition at first when catching up. */
    static final long TAIL_WINDOW = 16;

    private final WorkerConfig config;
    private final SiteTrainer trainer;
    private final WorkerListener listener;
    private final FederationSpec spec;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile boolean started;
    private volatile boolean caughtUp;
    private volatile Throwable failure;
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private SiteFeedback feedback;
    private int published;
    private GlobalModelAssembler assembler = new GlobalModelAssembler();
    private volatile LocalDp localDp;
    private volatile UpdateEncoding encoding = UpdateEncoding.FLOAT32;

    /** What this site's encoding has lost so far (null until the first encoded update). */
    private ErrorFeedback errorFeedback;

    private final java.security.SecureRandom localNoise = new java.security.SecureRandom();

    public Worker(
            WorkerConfig config, SiteTrainer trainer, WorkerListener listener, long specSeed) {
        this.config = config;
        this.trainer = trainer;
        this.listener = listener;
        this.spec = trainer.federationSpec(config.federationId(), specSeed);
    }

    /**
     * Local DP: clip and noise every update before it leaves the site ({@link LocalDp}); null for
     * none. Call before {@link #run()}.
     */
    public Worker withLocalDp(LocalDp dp) {
        this.localDp = dp;
        return this;
    }

    /**
     * How this site encodes its updates (the federation spec's {@code encoding}); lossy encodings
     * carry what they lose into the next update ({@link ErrorFeedback}). Call before {@link
     * #run()}.
     */
    public Worker withEncoding(UpdateEncoding encoding) {
        this.encoding = java.util.Objects.requireNonNull(encoding, "encoding");
        return this;
    }

    @Override
    public void run() {
        started = true;
        Thread.currentThread().setName("worker-" + config.siteId());
        AvroCodec.trustGeneratedClasses();
        try (KafkaConsumer<byte[], byte[]> c = ByteClients.consumer(consumerProps());
                KafkaProducer<byte[], byte[]> producer = ByteClients.producer(producerProps())) {
            consumer = c;
            feedback =
                    new SiteFeedback(
                            consumerProps(),
                            io.fedstream.schemas.Topics.feedback(config.siteId()),
                            r -> listener.onRejected(config.siteId(), r));
            feedback.start();
            loop(c, producer);
        } catch (WakeupException e) {
            if (running) {
                failure = e;
            }
        } catch (AuthenticationException | AuthorizationException e) {
            failure = e;
            LOG.error(
                    "site {}: Kafka refused our credentials or permissions, stopping: {}",
                    config.siteId(),
                    e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            failure = e;
            LOG.error("site {}: stopping on a fatal error", config.siteId(), e);
        } finally {
            consumer = null;
            if (feedback != null) {
                feedback.close();
            }
            try {
                listener.onStopped(config.siteId(), published, failure);
            } finally {
                stopped.countDown();
            }
        }
    }

    private void loop(KafkaConsumer<byte[], byte[]> c, KafkaProducer<byte[], byte[]> producer)
            throws InterruptedException {
        List<TopicPartition> partitions =
                c.partitionsFor(config.globalModelsTopic(), Duration.ofSeconds(60)).stream()
                        .map(p -> new TopicPartition(config.globalModelsTopic(), p.partition()))
                        .toList();
        c.assign(partitions);
        byte[] key = config.federationId().getBytes(StandardCharsets.UTF_8);
        // Train from the newest version, not from an old one on the way: find it first.
        GlobalModel caughtUpTo = catchUp(c, partitions, key);
        caughtUp = true;

        GlobalModel latest = null;
        long lastBase = -1;
        int sameBaseCount = 0;
        while (running) {
            GlobalModel newest = caughtUpTo != null ? caughtUpTo : poll(c, key);
            caughtUpTo = null;
            if (newest != null && (latest == null || newest.getVersion() > latest.getVersion())) {
                latest = newest;
                SiteTrainer.EvalResult eval =
                        trainer.evaluate(TensorCodec.toMap(latest.getTensors()));
                LOG.info(
                        "site {}: global version {} -> held-out loss {}, accuracy {}",
                        config.siteId(),
                        latest.getVersion(),
                        String.format("%.4f", eval.loss()),
                        String.format("%.3f", eval.accuracy()));
                listener.onGlobalVersion(config.siteId(), latest, eval);
            }
            if (latest == null) {
                continue;
            }
            boolean fresh = latest.getVersion() > lastBase;
            if (!fresh && config.waitForNewVersion()) {
                continue;
            }
            sameBaseCount = fresh ? 0 : sameBaseCount + 1;
            long base = latest.getVersion();
            String updateId =
                    config.siteId() + "/v" + base + (sameBaseCount == 0 ? "" : "#" + sameBaseCount);

            long t0 = System.nanoTime();
            SiteTrainer.TrainResult result =
                    trainer.train(TensorCodec.toMap(latest.getTensors()), base);
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (!config.pause().isZero()) {
                Thread.sleep(config.pause().toMillis());
            }
            Map<String, Double> metrics = new LinkedHashMap<>(result.metrics());
            metrics.put("train_seconds", seconds);
            Map<String, float[]> delta = result.delta();
            LocalDp dp = localDp;
            if (dp != null) {
                delta = dp.apply(delta, localNoise);
                dp.declare(metrics);
            }
            AdapterUpdate update =
                    AdapterUpdate.newBuilder()
                            .setUpdateId(updateId)
                            .setFederationId(config.federationId())
                            .setSiteId(config.siteId())
                            .setBaseVersion(base)
                            .setNumExamples(result.numExamples())
                            .setMetrics(metrics)
                            .setTensors(TensorCodec.fromMap(spec, delta))
                            .setCreatedAtMs(Instant.now())
                            .build();
            if (config.signingKey() != null) {
                UpdateSigning.sign(update, config.signingKeyId(), config.signingKey());
            }
            int chunkElements =
                    latest.getChunkElements() > 0
                            ? latest.getChunkElements()
                            : spec.chunkElements();
            send(producer, key, update, chunkElements);
            lastBase = base;
            listener.onUpdatePublished(update, result);
            published++;
            if (config.maxUpdates() > 0 && published >= config.maxUpdates()) {
                LOG.info("site {}: published {} updates, stopping", config.siteId(), published);
                return;
            }
        }
    }

    /**
     * The newest published version of our federation, read from the tails of the partitions: a
     * window of the last records of each partition, widened fourfold until it holds a version of
     * the federation or reaches the beginning, so a worker does not read a long history of large
     * models to start. Leaves the consumer at (or after) the ends it measured.
     */
    private GlobalModel catchUp(
            KafkaConsumer<byte[], byte[]> c, List<TopicPartition> partitions, byte[] key) {
        Map<TopicPartition, Long> begin = c.beginningOffsets(partitions);
        Map<TopicPartition, Long> end = c.endOffsets(partitions);
        for (long window = TAIL_WINDOW; ; window *= 4) {
            boolean whole = true;
            for (TopicPartition tp : partitions) {
                long start = Math.max(begin.get(tp), end.get(tp) - window);
                whole &= start == begin.get(tp);
                c.seek(tp, start);
            }
            GlobalModel newest = null;
            assembler = new GlobalModelAssembler(); // chunks of the window only
            Map<TopicPartition, Long> pending = new HashMap<>(end);
            pending.entrySet().removeIf(e -> c.position(e.getKey()) >= e.getValue());
            while (!pending.isEmpty() && running) {
                GlobalModel g = poll(c, key);
                if (g != null && (newest == null || g.getVersion() > newest.getVersion())) {
                    newest = g;
                }
                pending.entrySet().removeIf(e -> c.position(e.getKey()) >= e.getValue());
            }
            if (newest != null || whole || !running) {
                LOG.info(
                        "site {}: caught up at version {} reading the last {} records of each partition",
                        config.siteId(),
                        newest == null ? "none" : newest.getVersion(),
                        whole ? "all" : window);
                return newest;
            }
        }
    }

    /** Polls once; returns the newest global version of our federation in the batch, if any. */
    private GlobalModel poll(KafkaConsumer<byte[], byte[]> c, byte[] key) {
        GlobalModel newest = null;
        try {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
                if (r.key() == null || !java.util.Arrays.equals(r.key(), key)) {
                    continue;
                }
                try {
                    for (GlobalModel g : assembler.accept(r.value())) {
                        if (newest == null || g.getVersion() > newest.getVersion()) {
                            newest = g;
                            assembler.forgetBelow(config.federationId(), g.getVersion());
                        }
                    }
                } catch (AvroCodec.DecodeException e) {
                    LOG.warn(
                            "site {}: skipping undecodable global model at {}-{}@{}: {}",
                            config.siteId(),
                            r.topic(),
                            r.partition(),
                            r.offset(),
                            e.getMessage());
                }
            }
        } catch (InvalidOffsetException e) {
            LOG.warn(
                    "site {}: {}; reading the global models from the beginning",
                    config.siteId(),
                    e.getMessage());
            c.seekToBeginning(e.partitions());
        } catch (RetriableException e) {
            LOG.warn(
                    "site {}: retriable error polling global models: {}",
                    config.siteId(),
                    e.getMessage());
        }
        return newest;
    }

    /**
     * Sends the update's chunks, waits for them, then sends its manifest (the commit point); on a
     * retriable error it starts again (the same chunks again are harmless: the job keeps one copy
     * per digest, and counts an update id once).
     */
    private void send(
            KafkaProducer<byte[], byte[]> producer,
            byte[] key,
            AdapterUpdate update,
            int chunkElements)
            throws InterruptedException {
        ChunkLayout layout = spec.withChunkElements(chunkElements).layout();
        UpdateChunking.Chunked chunked;
        if (encoding.equals(UpdateEncoding.FLOAT32)) {
            chunked = UpdateChunking.split(update, layout);
        } else {
            if (errorFeedback == null || errorFeedback.size() != layout.totalElements()) {
                errorFeedback = new ErrorFeedback((int) layout.totalElements());
            }
            chunked = UpdateChunking.split(update, layout, encoding, errorFeedback);
        }
        if (config.signingKey() != null) {
            UpdateSigning.sign(chunked.manifest(), config.signingKeyId(), config.signingKey());
        }
        List<byte[]> chunks = new java.util.ArrayList<>(chunked.chunks().size());
        long bytes = 0;
        for (var c : chunked.chunks()) {
            byte[] v = AvroCodec.UPDATE_CHUNK.encode(c);
            bytes += v.length;
            chunks.add(v);
        }
        byte[] manifest = AvroCodec.UPDATE_MANIFEST.encode(chunked.manifest());
        long backoff = 500;
        while (true) {
            try {
                List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
                for (byte[] v : chunks) {
                    sent.add(producer.send(new ProducerRecord<>(config.updatesTopic(), key, v)));
                }
                for (var f : sent) {
                    f.get();
                }
                producer.send(new ProducerRecord<>(config.updatesTopic(), key, manifest)).get();
                LOG.info(
                        "site {}: published {} ({} examples, {} chunks, {} bytes)",
                        config.siteId(),
                        update.getUpdateId(),
                        update.getNumExamples(),
                        chunks.size(),
                        bytes + manifest.length);
                return;
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RetriableException && running) {
                    LOG.warn(
                            "site {}: retriable error publishing {}, retrying in {} ms: {}",
                            config.siteId(),
                            update.getUpdateId(),
                            backoff,
                            cause.getMessage());
                    Thread.sleep(backoff);
                    backoff = Math.min(backoff * 2, 30_000);
                } else if (cause instanceof KafkaException k) {
                    throw k;
                } else {
                    throw new KafkaException("cannot publish " + update.getUpdateId(), cause);
                }
            }
        }
    }

    private Properties consumerProps() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // never below Kafka's defaults (1 MB per partition, 50 MB per fetch)
        p.put(
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                Math.max(config.maxRecordBytes(), 1 << 20));
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Math.max(config.maxRecordBytes(), 50 << 20));
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "fedstream-worker-" + config.siteId());
        p.putAll(config.clientProperties());
        return p;
    }

    private Properties producerProps() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, config.maxRecordBytes());
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "fedstream-worker-" + config.siteId());
        p.putAll(config.clientProperties());
        return p;
    }

    /** Number of updates published so far. */
    public int published() {
        return published;
    }

    /**
     * Whether the worker serves: it has read {@code global-models} up to the end offsets it found
     * at start (so it knows the newest global version, if there is one), and its loop is still
     * running without a failure.
     */
    public boolean ready() {
        return caughtUp && running && failure == null && stopped.getCount() > 0;
    }

    /** The fatal error that stopped the worker, or null. */
    public Throwable failure() {
        return failure;
    }

    /** Asks the loop to stop, wakes it from a poll and waits for it to finish. */
    @Override
    public void close() {
        running = false;
        if (!started) {
            return;
        }
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until the loop has ended by itself or through {@link #close()}. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }
}
