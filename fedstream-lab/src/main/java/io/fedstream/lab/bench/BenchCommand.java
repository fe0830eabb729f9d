package io.fedstream.lab.bench;

import io.fedstream.lab.options.CommandGroup;
import io.fedstream.lab.options.MedQuadOption;
import io.fedstream.lab.options.QuickOption;
import io.fedstream.lab.options.TorchThreadsOption;
import io.fedstream.lab.options.UpdateSizeOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream bench NAME}: measurements that print their own table, one subcommand each
 * (docs/benchmarks.md).
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        subcommands = {
            BenchCommand.Digest.class,
            BenchCommand.Aggregate.class,
            BenchCommand.Python.class,
            BenchCommand.Train.class,
            BenchCommand.Decoder.class,
            BenchCommand.E2e.class,
            BenchCommand.Wire.class
        },
        description = {
            "Runs a benchmark and prints a table (docs/benchmarks.md). `bench NAME --help` lists"
                    + " one's options."
        })
public final class BenchCommand extends CommandGroup {

    @Command(
            name = "digest",
            mixinStandardHelpOptions = true,
            description = {
                "The cost of hashing and signing an update, against the JDK's digests. --quick: 3"
                        + " runs after 2 warm-up instead of 20 after 5."
            })
    static final class Digest implements Callable<Integer> {
        @Mixin QuickOption quick;

        @Mixin UpdateSizeOption size;

        @Override
        public Integer call() throws Exception {
            return DigestBench.run(quick.quick(), size.floats());
        }
    }

    @Command(
            name = "aggregate",
            mixinStandardHelpOptions = true,
            description = {
                "The accumulate kernel against a same-run memory triad (JMH). --quick: 1x0.3 s"
                        + " warm-up and 2x0.3 s measured instead of 3x0.5 s and 10x0.5 s."
            })
    static final class Aggregate implements Callable<Integer> {
        @Mixin QuickOption quick;

        @Mixin UpdateSizeOption size;

        @Override
        public Integer call() throws Exception {
            return AggregateBench.run(quick.quick(), size.floats());
        }
    }

    @Command(
            name = "python",
            mixinStandardHelpOptions = true,
            description = {
                "Streaming aggregation against Flower's FedAvg on .npy bytes and NumPy on decoded"
                        + " arrays. --quick: k = 8 only, best of 1."
            })
    static final class Python implements Callable<Integer> {
        @Mixin QuickOption quick;

        @Mixin UpdateSizeOption size;

        @Option(
                names = "--python",
                description =
                        "The interpreter (default: /usr/bin/python3 if it has numpy, else python3"
                                + " on the PATH).")
        String python;

        @Override
        public Integer call() throws Exception {
            return PythonBench.run(quick.quick(), size.floats(), python);
        }
    }

    @Command(
            name = "train",
            mixinStandardHelpOptions = true,
            description = {
                "MiniLM + LoRA training tokens/s: plain against length bucketing and the cached"
                        + " frozen prefix. --quick: 128 questions, one measured round."
            })
    static final class Train implements Callable<Integer> {
        @Mixin QuickOption quick;

        @Mixin TorchThreadsOption threads;

        @Mixin MedQuadOption medQuad;

        @Option(
                names = "--examples",
                defaultValue = "0",
                description = "MedQuAD questions to train on (default 512, 128 with --quick).")
        int examples;

        @Option(
                names = "--max-tokens",
                defaultValue = "64",
                description = "Truncation length in tokens (default ${DEFAULT-VALUE}).")
        int maxTokens;

        @Option(
                names = "--batch-size",
                defaultValue = "16",
                description = "Mini-batch size (default ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(
                names = "--from-layer",
                defaultValue = "3",
                description =
                        "First adapted layer of the upper-layers model (default ${DEFAULT-VALUE};"
                                + " the other model adapts all 6).")
        int fromLayer;

        @Override
        public Integer call() throws Exception {
            threads.apply();
            return TrainBench.run(
                    new TrainBench.Settings(
                            quick.quick(),
                            examples,
                            maxTokens,
                            batchSize,
                            fromLayer,
                            medQuad.path()));
        }
    }

    @Command(
            name = "decoder",
            mixinStandardHelpOptions = true,
            description = {
                "A random-weight checkpoint of Qwen2.5-0.5B's and Llama-3.2-1B's shape: load time,"
                        + " resident memory, LoRA training and generation tokens/s. --quick: 1"
                        + " training step, 4 generated tokens."
            })
    static final class Decoder implements Callable<Integer> {
        @Mixin QuickOption quick;

        @Mixin TorchThreadsOption threads;

        @Option(
                names = "--shapes",
                split = ",",
                defaultValue = "qwen2.5-0.5b,llama-3.2-1b",
                description = "Model shapes (default ${DEFAULT-VALUE}).")
        List<String> shapes;

        @Option(
                names = "--sequence",
                defaultValue = "64",
                description = "Tokens per training step (default ${DEFAULT-VALUE}).")
        int sequence;

        @Option(
                names = "--steps",
                defaultValue = "3",
                description = "Timed training steps (default ${DEFAULT-VALUE}).")
        int steps;

        @Option(
                names = "--new-tokens",
                defaultValue = "16",
                description = "Generated tokens (default ${DEFAULT-VALUE}).")
        int newTokens;

        @Option(
                names = "--temp-dir",
                description =
                        "Where the checkpoints are written and deleted (default: the system's"
                                + " temporary directory).")
        Path tempDir;

        @Override
        public Integer call() throws Exception {
            threads.apply();
            return DecoderBench.run(
                    new DecoderBench.Settings(
                            shapes,
                            sequence,
                            quick.quick() ? 1 : steps,
                            quick.quick() ? 4 : newTokens,
                            tempDir != null
                                    ? tempDir
                                    : Path.of(System.getProperty("java.io.tmpdir"))));
        }
    }

    @Command(
            name = "e2e",
            mixinStandardHelpOptions = true,
            description = {
                "Sites, a real broker and the real job on a local MiniCluster: throughput against"
                        + " the broker's, latency to a readable version and the checkpoints' cost"
                        + " at one or more checkpoint intervals, and heap by quorum."
                        + " --quick: 4 updates per round, 2 latency rounds, each throughput"
                        + " measured once, heap at quorums 4 and 8 (one round each)."
            })
    static final class E2e implements Callable<Integer> {
        @Mixin QuickOption quick;

        @Mixin UpdateSizeOption size;

        @Option(
                names = "--parallelism",
                split = ",",
                defaultValue = "1,2",
                description = "Job parallelisms to run (default ${DEFAULT-VALUE}).")
        List<Integer> parallelism;

        @Option(
                names = "--quorum",
                description =
                        "Updates per round of the throughput and latency runs (default 8; 4 with"
                                + " --quick).")
        Integer quorum;

        @Option(
                names = "--heap-quorums",
                split = ",",
                description =
                        "Quorums of the heap runs (default 8,64,256; 4,8 with --quick; 0: no heap"
                                + " runs).")
        List<Integer> heapQuorums;

        @Option(
                names = "--checkpoint-interval",
                split = ",",
                description =
                        "The job's checkpoint intervals, ISO-8601, e.g. PT10S,PT1S,PT0.5S (default:"
                                + " the job's default, fedstream.checkpoint.interval). The first is"
                                + " the one of the ratio and the heap runs; every one gets a"
                                + " latency and a throughput run per parallelism.")
        List<Duration> checkpointInterval;

        @Option(
                names = "--rounds",
                defaultValue = "20",
                description =
                        "Rounds of each latency run, after 3 warm-up rounds (default"
                                + " ${DEFAULT-VALUE}; 2 and no warm-up with --quick).")
        int rounds;

        @Option(names = "--unsigned", description = "Sites do not sign, the job does not verify.")
        boolean unsigned;

        @Option(
                names = "--dp",
                description =
                        "Also run each parallelism's job with central DP-FedAvg (clip, noise from"
                                + " the job secret, privacy ledger) for its throughput and latency"
                                + " rows.")
        boolean dp;

        @Option(
                names = "--whole-records",
                description =
                        "One 16.8 MB Kafka record per update (the legacy AdapterUpdate form, record"
                                + " limits raised) instead of chunks + manifest as workers"
                                + " publish.")
        boolean wholeRecords;

        @Override
        public Integer call() throws Exception {
            boolean q = quick.quick();
            return E2eBench.run(
                    new E2eBench.Settings(
                            q,
                            size.floats(),
                            parallelism,
                            quorum != null ? quorum : q ? 4 : 8,
                            heapQuorums != null
                                    ? heapQuorums.stream().filter(h -> h > 0).toList()
                                    : q ? List.of(4, 8) : List.of(8, 64, 256),
                            checkpointInterval != null
                                    ? checkpointInterval
                                    : List.of(
                                            io.fedstream.job.FedStreamOptions.CHECKPOINT_INTERVAL
                                                    .defaultValue()),
                            rounds,
                            !unsigned,
                            wholeRecords,
                            dp));
        }
    }

    @Command(
            name = "wire",
            mixinStandardHelpOptions = true,
            description = {
                "Bytes per update and held-out recall@1 of the local run's default task in float32"
                        + " and each update encoding, and the accumulate kernel per decoded element"
                        + " (JMH); last line bytes ratio: X. --quick: 2 versions per run instead"
                        + " of 5, shorter JMH runs."
            })
    static final class Wire implements Callable<Integer> {
        @Option(
                names = "--encodings",
                split = ",",
                defaultValue = "bfloat16,int8:64,nf4:64",
                description =
                        "Encodings compared with float32 (default ${DEFAULT-VALUE}; int8:B and nf4:B"
                                + " with B a multiple of 16 from 64 to 256; float32 there is a"
                                + " second float32 run, to see how much the metric moves by"
                                + " itself).")
        List<String> encodings;

        @Mixin QuickOption quick;

        @Mixin MedQuadOption medQuad;

        @Override
        public Integer call() throws Exception {
            return WireBench.run(new WireBench.Settings(quick.quick(), encodings, medQuad.path()));
        }
    }
}
