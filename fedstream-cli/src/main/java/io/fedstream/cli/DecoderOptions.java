package io.fedstream.cli;

import io.fedstream.worker.model.DecoderConfig;
import io.fedstream.worker.model.DecoderLora;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Options that select a local Hugging Face causal LM and its LoRA adapter, shared by {@code worker}
 * (which trains it) and {@code spec} (which writes the federation's contract for it).
 */
final class DecoderOptions {

    @Option(
            names = "--decoder",
            description =
                    "A local Hugging Face causal LM directory (GPT-2 or Llama family: config.json,"
                            + " model.safetensors or its shards, tokenizer.json). No pretrained"
                            + " causal LM ships with FedStream; nothing is downloaded.")
    Path decoder;

    @Option(
            names = "--lora-rank",
            defaultValue = "8",
            description = "Decoder LoRA rank (default ${DEFAULT-VALUE}).")
    int rank;

    @Option(
            names = "--lora-alpha",
            defaultValue = "16",
            description = "Decoder LoRA alpha (default ${DEFAULT-VALUE}).")
    double alpha;

    @Option(
            names = "--lora-dropout",
            defaultValue = "0.05",
            description = "Decoder LoRA dropout (default ${DEFAULT-VALUE}).")
    double dropout;

    @Option(
            names = "--lora-targets",
            defaultValue = "q_proj,v_proj",
            description =
                    "Decoder LoRA target modules: q_proj,k_proj,v_proj,o_proj,gate_proj (Llama),"
                            + "up_proj,down_proj (default ${DEFAULT-VALUE}).")
    String targets;

    DecoderLora lora() {
        return new DecoderLora(rank, alpha, dropout, DecoderLora.parseTargets(targets));
    }

    /** The architecture from {@code <decoder>/config.json}. */
    DecoderConfig config() throws IOException {
        return DecoderConfig.fromHfJson(Files.readString(decoder.resolve("config.json")));
    }
}
