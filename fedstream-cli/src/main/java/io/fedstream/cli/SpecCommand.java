package io.fedstream.cli;

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
                "Prints the JSON federation spec (adapter tensors, shapes, initialisation) of the demo"
                        + " model, or with --decoder of a LoRA adapter on that causal LM.")
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

    @Mixin DecoderOptions decoder = new DecoderOptions();

    @Override
    public Integer call() throws java.io.IOException {
        io.fedstream.schemas.FederationSpec spec =
                decoder.decoder == null
                        ? DemoFederation.create(federation, seed, 1, 1.0).spec()
                        : new io.fedstream.schemas.FederationSpec(
                                federation,
                                seed,
                                io.fedstream.worker.model.CausalLm.adapterTensors(
                                        decoder.config(), decoder.lora()));
        System.out.println("[" + spec.toJson() + "]");
        return 0;
    }
}
