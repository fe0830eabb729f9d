package io.fedstream.cli;

import io.fedstream.worker.sites.SiteTrainers;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The command-line options of what a site trains, shared by {@code worker} and {@code spec}: each
 * sets the field of the same name of the worker's site-trainer factory ({@link SiteTrainers}, which
 * builds the trainers and specs from them). The defaults here are the factory's initial values
 * ({@code SiteOptionsTest} checks they agree).
 */
class SiteOptions extends SiteTrainers {

    @Option(
            names = "--model",
            defaultValue = SiteTrainers.MLP,
            description =
                    "What the site trains: mlp (the demo task, synthetic data), retrieval"
                            + " (all-MiniLM-L6-v2 + LoRA for MedQuAD question-to-answer retrieval,"
                            + " the default task of ./fedstream local), minilm (all-MiniLM-L6-v2 +"
                            + " LoRA classifying instructions of --data by --label-field) or"
                            + " decoder (implied by --decoder) (default ${DEFAULT-VALUE}).")
    void setModel(String value) {
        model = value;
    }

    @Option(
            names = "--decoder",
            description =
                    "A local Hugging Face causal LM directory (GPT-2, Llama 2/3.x, SmolLM2, Qwen2/2.5"
                            + " or Mistral: config.json, model.safetensors or its shards,"
                            + " tokenizer.json), instruction-tuned with LoRA on --data, in its chat"
                            + " template when tokenizer_config.json has a Llama 3 or ChatML one. No"
                            + " pretrained causal LM ships with FedStream; nothing is downloaded.")
    void setDecoder(Path value) {
        decoder = value;
    }

    @Option(
            names = "--data",
            description =
                    "minilm: a MedQuAD file (medquad.jsonl.gz; default: found as MedQuad.locate()"
                            + " does) or Alpaca/Dolly-style JSON lines, split into sites by"
                            + " --site-field; decoder: this site's own Alpaca/Dolly JSON lines.")
    void setData(Path value) {
        data = value;
    }

    @Option(
            names = "--eval-fraction",
            defaultValue = "0.1",
            description =
                    "decoder: share of --data held out for evaluation, chosen by --seed (default"
                            + " ${DEFAULT-VALUE}).")
    void setEvalFraction(double value) {
        evalFraction = value;
    }

    @Option(
            names = "--site-field",
            defaultValue = io.fedstream.worker.data.InstructionExample.SOURCE,
            description =
                    "minilm: the field whose values are the sites (default ${DEFAULT-VALUE}).")
    void setSiteField(String value) {
        siteField = value;
    }

    @Option(
            names = "--label-field",
            defaultValue = io.fedstream.worker.data.InstructionExample.CATEGORY,
            description = "minilm: the field to classify (default ${DEFAULT-VALUE}).")
    void setLabelField(String value) {
        labelField = value;
    }

    @Option(
            names = "--train-cap",
            description =
                    "minilm, retrieval: training examples per site, at most (default: minilm 120,"
                            + " retrieval 32 as in ./fedstream local).")
    void setTrainCap(Integer value) {
        trainCap = value;
    }

    @Option(
            names = "--test-per-site",
            defaultValue = "40",
            description = "minilm: held-out examples per site (default ${DEFAULT-VALUE}).")
    void setTestPerSite(int value) {
        testPerSite = value;
    }

    @Option(
            names = "--lora-rank",
            defaultValue = "8",
            description = "LoRA rank (default ${DEFAULT-VALUE}).")
    void setLoraRank(int value) {
        loraRank = value;
    }

    @Option(
            names = "--lora-alpha",
            defaultValue = "16",
            description = "LoRA alpha (default ${DEFAULT-VALUE}).")
    void setLoraAlpha(double value) {
        loraAlpha = value;
    }

    @Option(
            names = "--lora-dropout",
            defaultValue = "0.05",
            description = "LoRA dropout (default ${DEFAULT-VALUE}).")
    void setLoraDropout(double value) {
        loraDropout = value;
    }

    @Option(
            names = "--lora-targets",
            description =
                    "Adapted layers. minilm: of query, key, value, attention_output, intermediate,"
                            + " output (default query,value); decoder: of q_proj, k_proj, v_proj,"
                            + " o_proj, gate_proj (not GPT-2), up_proj, down_proj (default"
                            + " q_proj,v_proj).")
    void setLoraTargets(String value) {
        loraTargets = value;
    }

    @Option(
            names = "--lora-freeze-a",
            description =
                    "minilm: FFA-LoRA, train only B (A stays at version 0's value), so the job's"
                            + " FedAvg is exactly the mean of the sites' products B·A.")
    void setFreezeA(boolean value) {
        freezeA = value;
    }

    @Option(
            names = "--max-tokens",
            description =
                    "Tokens per example (default: minilm 32, decoder 256, at most the decoder's"
                            + " positions).")
    void setMaxTokens(Integer value) {
        maxTokens = value;
    }

    @Option(
            names = "--batch-size",
            description = "Mini-batch size (default: minilm 16, decoder 4).")
    void setBatchSize(Integer value) {
        batchSize = value;
    }

    @Option(
            names = "--local-epochs",
            description = "Passes over the local data per version (default: minilm 2, decoder 1).")
    void setLocalEpochs(Integer value) {
        localEpochs = value;
    }

    @Option(
            names = "--lr",
            description = "Adam learning rate (default: minilm 3e-3, decoder 2e-4).")
    void setLearningRate(Double value) {
        learningRate = value;
    }

    @Option(
            names = "--fedpit",
            description =
                    "decoder: FedPIT. The shared adapter trains only on synthetic data the site"
                            + " generates from its --data each round (self-instruct); a private"
                            + " local adapter, trained on --data plus the synthetic data, stays in"
                            + " --local-adapter and is never sent.")
    void setFedpit(boolean value) {
        fedpit = value;
    }

    @Option(
            names = "--beta",
            defaultValue = "0",
            description =
                    "fedpit: sent = beta * local-trained + (1 - beta) * synthetic-trained delta; 0"
                            + " is strict isolation, 1 plain FedIT (default ${DEFAULT-VALUE}).")
    void setBeta(double value) {
        beta = value;
    }

    @Option(
            names = "--local-adapter",
            description =
                    "fedpit: file of the private local adapter (safetensors; created if missing;"
                            + " default local-adapter-<site>.safetensors).")
    void setLocalAdapter(Path value) {
        localAdapter = value;
    }

    @Option(
            names = "--candidates",
            defaultValue = "32",
            description =
                    "fedpit: synthetic candidates generated per round (default ${DEFAULT-VALUE}).")
    void setCandidates(int value) {
        candidates = value;
    }

    @Option(
            names = "--keep",
            defaultValue = "16",
            description =
                    "fedpit: candidates kept per round, the best by instruction-following score"
                            + " (default ${DEFAULT-VALUE}).")
    void setKeep(int value) {
        keep = value;
    }

    @Option(
            names = "--local-adapter-epochs",
            defaultValue = "1",
            description =
                    "fedpit: epochs of the local adapter per round (default ${DEFAULT-VALUE}).")
    void setLocalAdapterEpochs(int value) {
        localAdapterEpochs = value;
    }

    @Option(
            names = "--generator-url",
            description =
                    "fedpit: generate with an OpenAI-compatible chat-completions server at this"
                            + " base URL (e.g. http://localhost:8000/v1 for vLLM) instead of the"
                            + " site's own decoder; API key from $FEDSTREAM_GENERATOR_API_KEY.")
    void setGeneratorUrl(java.net.URI value) {
        generatorUrl = value;
    }

    @Option(
            names = "--generator-model",
            defaultValue = "default",
            description = "fedpit: model name sent to --generator-url (default ${DEFAULT-VALUE}).")
    void setGeneratorModel(String value) {
        generatorModel = value;
    }
}
