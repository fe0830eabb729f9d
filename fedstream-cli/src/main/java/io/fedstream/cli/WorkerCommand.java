package io.fedstream.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.worker.HealthServer;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.WorkerListener;
import io.fedstream.worker.data.AlpacaJsonl;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.model.CausalLm;
import io.fedstream.worker.model.CausalLmSiteTrainer;
import io.fedstream.worker.model.DecoderCheckpoint;
import io.fedstream.worker.model.LoraCausalLm;
import io.fedstream.worker.train.Sampling;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers.")
    String bootstrap;

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
            names = "--kafka-config",
            description =
                    "Java properties file of extra Kafka client settings (SASL/SSL), see docs/operations.md.")
    java.nio.file.Path kafkaConfig;

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
            names = "--health-port",
            description =
                    "Serve /healthz (alive, loop not failed) and /readyz (has read the newest"
                            + " global version) on this port, for Kubernetes probes; off by default.")
    Integer healthPort;

    @Mixin DecoderOptions decoder = new DecoderOptions();

    @Option(
            names = "--data",
            description =
                    "With --decoder: this site's instruction data, Alpaca/Dolly JSON lines"
                            + " (instruction, input/context, output/response).")
    Path data;

    @Option(
            names = "--eval-fraction",
            defaultValue = "0.1",
            description =
                    "With --decoder: share of --data held out for evaluation, chosen by --seed"
                            + " (default ${DEFAULT-VALUE}).")
    double evalFraction;

    @Option(
            names = "--max-tokens",
            defaultValue = "256",
            description = "With --decoder: longest example in tokens (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(
            names = "--batch-size",
            defaultValue = "4",
            description = "With --decoder: mini-batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--local-epochs",
            defaultValue = "1",
            description = "With --decoder: local epochs per round (default ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(
            names = "--lr",
            defaultValue = "2e-4",
            description = "With --decoder: Adam learning rate (default ${DEFAULT-VALUE}).")
    double learningRate;

    /** The demo trainer, or the decoder's instruction tuning on --data. */
    SiteTrainer trainer(DemoFederation demo) throws java.io.IOException {
        if (decoder.decoder == null) {
            return demo.trainer(siteIndex);
        }
        if (data == null) {
            throw new IllegalArgumentException("--decoder needs --data (the site's examples)");
        }
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new IllegalArgumentException("--eval-fraction must be in [0, 1)");
        }
        List<InstructionExample> all = AlpacaJsonl.readAll(data);
        int[] order = Sampling.range(all.size());
        Sampling.shuffle(order, new java.util.SplittableRandom(seed));
        int held = (int) Math.round(all.size() * evalFraction);
        List<InstructionExample> eval = new ArrayList<>();
        List<InstructionExample> train = new ArrayList<>();
        for (int i = 0; i < order.length; i++) {
            (i < held ? eval : train).add(all.get(order[i]));
        }
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(decoder.decoder);
        LoraCausalLm model =
                new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, decoder.lora()), seed);
        try (HuggingFaceTokenizer tokenizer = checkpoint.tokenizer()) {
            System.out.printf(
                    "%s: %s from %s, LoRA %s: %d trainable values; %d training and %d held-out"
                            + " examples%n",
                    siteId != null ? siteId : DemoFederation.siteName(siteIndex),
                    checkpoint.config().family(),
                    decoder.decoder,
                    decoder.lora(),
                    model.adapterSize(),
                    train.size(),
                    eval.size());
            return new CausalLmSiteTrainer(
                    model,
                    true,
                    tokenizer,
                    train,
                    eval,
                    new CausalLmSiteTrainer.Options(
                            maxTokens, batchSize, localEpochs, learningRate, seed + siteIndex));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (siteIndex < 0 || siteIndex >= sites) {
            throw new IllegalArgumentException("--site-index must be in [0, " + sites + ")");
        }
        DemoFederation demo = DemoFederation.create(federation, seed, sites, alpha);
        String id = siteId != null ? siteId : DemoFederation.siteName(siteIndex);
        var config =
                WorkerConfig.defaults(bootstrap, federation, id)
                        .withPause(pause)
                        .withMaxUpdates(maxUpdates);
        config.clientProperties().putAll(AuditCommand.loadProperties(kafkaConfig));
        if (signingKey != null) {
            if (keyId == null) {
                throw new IllegalArgumentException("--signing-key needs --key-id");
            }
            config =
                    config.withSigningKey(
                            keyId,
                            io.fedstream.schemas.SiteKeys.privateKey(
                                    java.nio.file.Files.readString(signingKey)));
        }
        WorkerListener progress =
                new WorkerListener() {
                    @Override
                    public void onGlobalVersion(
                            String site, GlobalModel m, SiteTrainer.EvalResult e) {
                        System.out.printf(
                                "%s: version %d, held-out loss %.4f, accuracy %.3f%n",
                                site, m.getVersion(), e.loss(), e.accuracy());
                    }
                };
        try (SiteTrainer trainer = trainer(demo)) {
            Worker worker = new Worker(config, trainer, progress, seed);
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
                System.err.println("worker stopped: " + worker.failure());
                return 1;
            }
        }
        return 0;
    }
}
