package io.fedstream.lab.bench;

import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./fedstream bench}: measurements that print their own table. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Runs a benchmark and prints a table. Available: digest (the cost of hashing and signing"
                    + " an update, against the JDK's digests); aggregate (the accumulate kernel"
                    + " against a same-run memory triad, JMH); python (streaming aggregation"
                    + " against Flower's FedAvg on .npy bytes and NumPy on decoded arrays);"
                    + " train (MiniLM + LoRA training tokens/s: plain against length bucketing and"
                    + " the cached frozen prefix); decoder (a random-weight checkpoint of"
                    + " Qwen2.5-0.5B's and Llama-3.2-1B's shape: load time, resident memory, LoRA"
                    + " training and generation tokens/s); e2e (sites, a real broker and the real job on a local MiniCluster:"
                    + " throughput against the broker's, latency to a readable version, and heap by"
                    + " quorum)."
        })
public final class BenchCommand implements Callable<Integer> {

    @Parameters(
            index = "0",
            description = "Benchmark: digest, aggregate, python, train, decoder or e2e.")
    String name;

    @Option(names = "--quick", description = "A short run for smoke checks.")
    boolean quick;

    @Option(
            names = "--mb",
            defaultValue = "16.8",
            description =
                    "Update size in MB (default ${DEFAULT-VALUE}: rank-8 LoRA on a 7B model's attention).")
    double mb;

    @Option(
            names = "--python",
            description =
                    "python bench: the interpreter (default: /usr/bin/python3 if it has numpy,"
                            + " else python3 on the PATH).")
    String python;

    @Option(
            names = "--threads",
            description =
                    "train and decoder benches: PyTorch intra-op threads (default: the worker's,"
                            + " 1; see DjlRuntime).")
    Integer threads;

    @Option(
            names = "--examples",
            defaultValue = "0",
            description =
                    "train bench: MedQuAD questions to train on (default 512, 128 with --quick).")
    int examples;

    @Option(
            names = "--max-tokens",
            defaultValue = "64",
            description = "train bench: truncation length in tokens (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(
            names = "--batch-size",
            defaultValue = "16",
            description = "train bench: mini-batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--from-layer",
            defaultValue = "3",
            description =
                    "train bench: first adapted layer of the upper-layers model (default"
                            + " ${DEFAULT-VALUE}; the other model adapts all 6).")
    int fromLayer;

    @Option(
            names = "--data",
            description = "train bench: MedQuAD file (default: found as MedQuad.locate() does).")
    java.nio.file.Path data;

    @Option(
            names = "--parallelism",
            split = ",",
            defaultValue = "1,2",
            description = "e2e: job parallelisms to run (default ${DEFAULT-VALUE}).")
    List<Integer> parallelism;

    @Option(
            names = "--quorum",
            description =
                    "e2e: updates per round of the throughput and latency runs (default 8; 4 with"
                            + " --quick).")
    Integer quorum;

    @Option(
            names = "--heap-quorums",
            split = ",",
            description = "e2e: quorums of the heap runs (default 8,64,256; 4,8 with --quick).")
    List<Integer> heapQuorums;

    @Option(
            names = "--checkpoint-interval",
            defaultValue = "PT0.5S",
            description =
                    "e2e: the job's checkpoint interval, ISO-8601 (default ${DEFAULT-VALUE}).")
    java.time.Duration checkpointInterval;

    @Option(names = "--unsigned", description = "e2e: sites do not sign, the job does not verify.")
    boolean unsigned;

    @Option(
            names = "--dp",
            description =
                    "e2e: also run each parallelism's job with central DP-FedAvg (clip, noise from"
                            + " the job secret, privacy ledger) for its throughput and latency rows.")
    boolean dp;

    @Option(
            names = "--whole-records",
            description =
                    "e2e: one 16.8 MB Kafka record per update (the legacy AdapterUpdate form, record"
                            + " limits raised) instead of chunks + manifest as workers publish.")
    boolean wholeRecords;

    @Option(
            names = "--shapes",
            split = ",",
            defaultValue = "qwen2.5-0.5b,llama-3.2-1b",
            description = "decoder: model shapes (default ${DEFAULT-VALUE}).")
    List<String> shapes;

    @Option(
            names = "--sequence",
            defaultValue = "64",
            description = "decoder: tokens per training step (default ${DEFAULT-VALUE}).")
    int sequence;

    @Option(
            names = "--steps",
            defaultValue = "3",
            description = "decoder: timed training steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(
            names = "--new-tokens",
            defaultValue = "16",
            description = "decoder: generated tokens (default ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(
            names = "--temp-dir",
            description =
                    "decoder: where the checkpoints are written and deleted (default: the system's"
                            + " temporary directory).")
    java.nio.file.Path tempDir;

    @Override
    public Integer call() throws Exception {
        int floats = (int) (mb * 1e6 / 4);
        switch (name) {
            case "digest":
                digest();
                return 0;
            case "aggregate":
                return io.fedstream.lab.bench.AggregateBench.run(quick, floats);
            case "python":
                return io.fedstream.lab.bench.PythonBench.run(quick, floats, python);
            case "train":
                if (threads != null) {
                    // before the engine starts; DjlRuntime keeps values already set
                    System.setProperty(
                            io.fedstream.worker.djl.DjlRuntime.NUM_THREADS,
                            Integer.toString(threads));
                }
                return io.fedstream.lab.bench.TrainBench.run(
                        new io.fedstream.lab.bench.TrainBench.Settings(
                                quick, examples, maxTokens, batchSize, fromLayer, data));
            case "decoder":
                if (threads != null) {
                    System.setProperty(
                            io.fedstream.worker.djl.DjlRuntime.NUM_THREADS,
                            Integer.toString(threads));
                }
                return io.fedstream.lab.bench.DecoderBench.run(
                        new io.fedstream.lab.bench.DecoderBench.Settings(
                                shapes,
                                sequence,
                                quick ? 1 : steps,
                                quick ? 4 : newTokens,
                                tempDir != null
                                        ? tempDir
                                        : java.nio.file.Path.of(
                                                System.getProperty("java.io.tmpdir"))));
            case "e2e":
                return io.fedstream.lab.bench.E2eBench.run(
                        new io.fedstream.lab.bench.E2eBench.Settings(
                                quick,
                                floats,
                                parallelism,
                                quorum != null ? quorum : quick ? 4 : 8,
                                heapQuorums != null
                                        ? heapQuorums
                                        : quick ? List.of(4, 8) : List.of(8, 64, 256),
                                checkpointInterval,
                                !unsigned,
                                wholeRecords,
                                dp));
            default:
                System.err.println(
                        "unknown benchmark '"
                                + name
                                + "' (digest, aggregate, python, train, decoder, e2e)");
                return 2;
        }
    }

    private void digest() throws Exception {
        int floats = (int) (mb * 1e6 / 4);
        float[] v = new float[floats];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextDouble();
        }
        AdapterUpdate u =
                AdapterUpdate.newBuilder()
                        .setUpdateId("bench/v1")
                        .setFederationId("bench")
                        .setSiteId("bench")
                        .setBaseVersion(1)
                        .setNumExamples(1)
                        .setTensors(List.of(TensorCodec.float32("x", new int[] {floats}, v)))
                        .setCreatedAtMs(Instant.EPOCH)
                        .build();
        byte[] raw = new byte[floats * 4];
        u.getTensors().get(0).getData().duplicate().get(raw);
        int warmup = quick ? 2 : 5;
        int runs = quick ? 3 : 20;
        System.out.printf(
                Locale.ROOT,
                "update: %.1f MB (%d float32); %d runs after %d warm-up%n",
                raw.length / 1e6,
                floats,
                runs,
                warmup);
        System.out.printf(Locale.ROOT, "%-34s %10s %10s%n", "what", "ms/update", "GB/s");
        for (String alg : List.of("SHA-256", "SHA-512", "SHA-512/256", "SHA3-256")) {
            MessageDigest md = MessageDigest.getInstance(alg);
            row("JDK " + alg, raw.length, warmup, runs, () -> md.digest(raw));
        }
        row(
                "manifest digest (TensorCodec.sha256)",
                raw.length,
                warmup,
                runs,
                () -> TensorCodec.sha256(u.getTensors()));
        KeyPair key = SiteKeys.generate();
        row(
                "sign (SHA-256 + Ed25519)",
                raw.length,
                warmup,
                runs,
                () -> UpdateSigning.sign(u, "k", key.getPrivate()));
        UpdateSigning.sign(u, "k", key.getPrivate());
        row(
                "verify (SHA-256 + Ed25519)",
                raw.length,
                warmup,
                runs,
                () -> {
                    if (!UpdateSigning.verify(u, key.getPublic())) {
                        throw new IllegalStateException("verification failed");
                    }
                });
        row(
                "validation stats (finite, max, norm)",
                raw.length,
                warmup,
                runs,
                () -> {
                    if (!io.fedstream.aggregation.LittleEndianFloats.stats(
                                    raw, io.fedstream.aggregation.LittleEndianFloats.Kind.FLOAT32)
                            .finite()) {
                        throw new IllegalStateException("not finite");
                    }
                });
        double[] acc = new double[floats];
        row(
                "baseline: acc += w*x (float64 acc)",
                raw.length,
                warmup,
                runs,
                () ->
                        io.fedstream.aggregation.LittleEndianFloats.accumulate(
                                acc,
                                raw,
                                io.fedstream.aggregation.LittleEndianFloats.Kind.FLOAT32,
                                0.5));
    }

    private interface Work {
        void run() throws Exception;
    }

    private static void row(String what, long bytes, int warmup, int runs, Work w)
            throws Exception {
        for (int i = 0; i < warmup; i++) {
            w.run();
        }
        long best = Long.MAX_VALUE;
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            w.run();
            best = Math.min(best, System.nanoTime() - t);
        }
        double ms = best / 1e6;
        System.out.printf(Locale.ROOT, "%-34s %10.2f %10.2f%n", what, ms, bytes / ms / 1e6);
    }
}
