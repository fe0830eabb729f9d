package io.fedstream.cli;

import io.fedstream.worker.HealthServer;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.WorkerListener;
import io.fedstream.worker.mlp.DemoFederation;
import io.fedstream.worker.sites.SiteTrainers;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./fedstream worker}: one site of the demo federation against an external Kafka. */
@Command(
        name = "worker",
        mixinStandardHelpOptions = true,
        description = {
            "Runs one site worker against a Kafka cluster: follows the federation's global"
                    + " versions, trains locally with DJL and publishes its updates.",
            "The site's data is its share of the generated demo task, chosen by --site-index of"
                    + " --sites with --seed (the same split as ./fedstream local)."
        })
final class WorkerCommand implements Callable<Integer> {

    @Mixin KafkaOptions kafka = new KafkaOptions();

    @Option(
            names = "--federation",
            defaultValue = "demo",
            description = "Federation id (default ${DEFAULT-VALUE}).")
    String federation;

    @Option(names = "--site-index", required = true, description = "This site's index, 0-based.")
    int siteIndex;

    @Option(
            names = "--sites",
            defaultValue = "3",
            description = "Number of sites the data is split among (default ${DEFAULT-VALUE}).")
    int sites;

    @Option(names = "--site-id", description = "Site id (default site-<index+1>).")
    String siteId;

    @Option(
            names = "--local-dp-clip",
            description =
                    "Local DP: clip every update to this L2 norm and add Gaussian noise of std"
                            + " --local-dp-noise-multiplier times it before sending (declared in"
                            + " the update's metrics; the job's privacy ledger records it).")
    Double localDpClip;

    @Option(
            names = "--local-dp-noise-multiplier",
            description = "Local DP: noise std / --local-dp-clip.")
    Double localDpNoise;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "Seed of the demo federation (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--alpha",
            defaultValue = "0.5",
            description = "Dirichlet concentration of the label split (default ${DEFAULT-VALUE}).")
    double alpha;

    @Option(
            names = "--pause",
            defaultValue = "PT0S",
            description = "Extra time per local round, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration pause;

    @Option(
            names = "--max-updates",
            defaultValue = "0",
            description = "Stop after this many updates; 0 never (default ${DEFAULT-VALUE}).")
    int maxUpdates;

    @Option(
            names = "--signing-key",
            description =
                    "File with the site's private key (./fedstream keygen); updates are signed with it.")
    java.nio.file.Path signingKey;

    @Option(
            names = "--key-id",
            description = "Registry id of the signing key (required with --signing-key).")
    String keyId;

    @Option(
            names = "--encoding",
            defaultValue = "float32",
            description =
                    "How updates travel: float32 (default), bfloat16, int8[:B] or nf4[:B] (blockwise,"
                            + " B elements per scale, a multiple of 16 from 64 to 256, default 64);"
                            + " the job's federation spec must have the same block size. Lossy"
                            + " encodings carry what they lose into the next update.")
    String encoding;

    @Option(
            names = "--health-port",
            description =
                    "Serve /healthz (alive, loop not failed) and /readyz (has read the newest"
                            + " global version) on this port, for Kubernetes probes; off by default.")
    Integer healthPort;

    @Mixin SiteOptions site = new SiteOptions();

    private SiteTrainers.SiteData miniLmSite;

    @Override
    public Integer call() throws Exception {
        DemoFederation demo = null;
        if (site.kind().equals(SiteTrainers.MLP)) {
            if (siteIndex < 0 || siteIndex >= sites) {
                throw new Errors.UsageError(
                        "--site-index " + siteIndex + " must be in [0, " + sites + ") (--sites)");
            }
            demo = DemoFederation.create(federation, seed, sites, alpha);
        }
        try (SiteTrainer trainer = trainer(demo)) {
            return run(id(), trainer);
        }
    }

    /** This site's trainer: the demo's (from {@code demo}), MiniLM's or the decoder's. */
    SiteTrainer trainer(DemoFederation demo) throws java.io.IOException {
        return switch (site.kind()) {
            case SiteTrainers.DECODER -> site.decoderTrainer(id(), siteIndex, seed);
            case SiteTrainers.MINILM -> site.trainer(miniLmSite(), seed);
            case SiteTrainers.RETRIEVAL -> retrievalTrainer();
            default -> demo.trainer(siteIndex);
        };
    }

    // one site of the local run's task, with its own model
    private SiteTrainer retrievalTrainer() throws java.io.IOException {
        int n = site.retrievalSiteIds(seed).size();
        if (siteIndex < 0 || siteIndex >= n) {
            throw new IllegalArgumentException("--site-index must be in [0, " + n + ")");
        }
        var split = site.retrievalTask(seed).sites().get(siteIndex);
        System.out.printf(
                "site %d of %d: %s, MiniLM + LoRA retrieval, %d training and %d held-out"
                        + " questions%n",
                siteIndex, n, split.name(), split.train().size(), split.test().size());
        return site.retrievalTrainer(siteIndex, seed);
    }

    /** {@code --site-id}, else the MiniLM or retrieval site's name, else {@code site-<index+1>}. */
    private String id() throws java.io.IOException {
        if (siteId != null) {
            return siteId;
        }
        if (site.kind().equals(SiteTrainers.RETRIEVAL)) {
            return site.retrievalSiteIds(seed).get(siteIndex);
        }
        return site.kind().equals(SiteTrainers.MINILM)
                ? SiteTrainers.siteId(miniLmSite().name())
                : DemoFederation.siteName(siteIndex);
    }

    private SiteTrainers.SiteData miniLmSite() {
        if (miniLmSite == null) {
            miniLmSite = site.site(siteIndex, seed);
            System.out.printf(
                    "site %s (%d of %d): %d training and %d held-out examples, %d labels%n",
                    miniLmSite.name(),
                    siteIndex,
                    miniLmSite.sites(),
                    miniLmSite.train().size(),
                    miniLmSite.test().size(),
                    miniLmSite.labels().size());
        }
        return miniLmSite;
    }

    private int run(String id, SiteTrainer trainer) throws Exception {
        var config =
                WorkerConfig.defaults(kafka.bootstrap, federation, id)
                        .withPause(pause)
                        .withMaxUpdates(maxUpdates);
        config.clientProperties().putAll(kafka.clientProperties());
        if (signingKey != null) {
            if (keyId == null) {
                throw new Errors.UsageError("--signing-key needs --key-id");
            }
            config =
                    config.withSigningKey(
                            keyId,
                            io.fedstream.schemas.SiteKeys.privateKey(
                                    java.nio.file.Files.readString(signingKey)));
        }
        Preflight.kafka(kafka.bootstrap, config.clientProperties(), Preflight.KAFKA_TIMEOUT);
        WorkerListener progress = new WorkerProgress(System.out);
        {
            if ((localDpClip == null) != (localDpNoise == null)) {
                System.err.println(
                        "--local-dp-clip and --local-dp-noise-multiplier go together: give both");
                return 2;
            }
            Worker worker = new Worker(config, trainer, progress, seed);
            try {
                worker.withEncoding(io.fedstream.schemas.UpdateEncoding.parse(encoding));
            } catch (IllegalArgumentException e) {
                System.err.println("--encoding: " + e.getMessage());
                return 2;
            }
            if (localDpClip != null) {
                try {
                    worker.withLocalDp(new io.fedstream.worker.LocalDp(localDpClip, localDpNoise));
                } catch (IllegalArgumentException e) {
                    System.err.println(e.getMessage());
                    return 2;
                }
            }
            Thread hook = new Thread(worker::close);
            Runtime.getRuntime().addShutdownHook(hook);
            try (HealthServer health =
                    healthPort == null
                            ? null
                            : HealthServer.start(
                                    healthPort, () -> worker.failure() == null, worker::ready)) {
                worker.run();
            }
            if (!Thread.currentThread().isInterrupted()) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running
                }
            }
            if (worker.failure() != null) {
                throw new Errors.UserError(
                        "worker " + id + " stopped: " + Errors.oneLine(worker.failure()),
                        worker.failure());
            }
        }
        return 0;
    }
}
