package io.fedstream.cli;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.mlp.DemoFederation;
import io.fedstream.worker.sites.SiteTrainers;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream spec}: prints the federation spec of the demo model, or with {@code --decoder}
 * of a LoRA adapter on a local Hugging Face causal LM, for {@code job --federations}.
 */
@Command(
        name = "spec",
        mixinStandardHelpOptions = true,
        description =
                "Prints the JSON federation spec (adapter tensors, shapes, initialisation) of the"
                        + " demo model, of MiniLM + LoRA on --data (--model minilm) or of a LoRA"
                        + " adapter on a causal LM (--decoder DIR).")
final class SpecCommand implements Callable<Integer> {

    @Option(
            names = "--federation",
            defaultValue = "demo",
            description = "Federation id (default ${DEFAULT-VALUE}).")
    String federation;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "Seed of version 0 (default ${DEFAULT-VALUE}).")
    long seed;

    @Mixin SiteOptions site = new SiteOptions();

    @Override
    public Integer call() throws java.io.IOException {
        FederationSpec spec =
                switch (site.kind()) {
                    case SiteTrainers.MINILM -> site.spec(federation, seed);
                    case SiteTrainers.RETRIEVAL -> site.retrievalSpec(federation, seed);
                    case SiteTrainers.DECODER -> site.decoderSpec(federation, seed);
                    default -> DemoFederation.create(federation, seed, 1, 1.0).spec();
                };
        System.out.println("[" + spec.toJson() + "]");
        return 0;
    }
}
