package io.fedstream.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.worker.decoder.CausalLm;
import io.fedstream.worker.decoder.ChatTemplate;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderLora;
import io.fedstream.worker.decoder.GreedyDecoding;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream generate}: greedy generation from a local causal LM, with no adapter, a LoRA
 * adapter file (a site's private FedPIT adapter) or a global version read from Kafka, so a person
 * can look at what the federation produced.
 */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Greedy generation from a local Hugging Face causal LM (--decoder DIR): the base model,"
                    + " or with a LoRA adapter from a safetensors file (--adapter) or from global"
                    + " version --version of a federation (--bootstrap).",
            "The prompt is encoded as the checkpoint's tokenizer.json encodes it, or with --chat in"
                    + " the checkpoint's chat template (Llama 3 or ChatML) as a user turn. Prints"
                    + " the generated ids on a line 'ids: ...', then their text; stops at EOS"
                    + " (or the template's end of turn), which is not printed."
        })
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--decoder", required = true, description = "The checkpoint directory.")
    Path decoder;

    @Option(names = "--prompt", required = true, description = "The prompt text.")
    String prompt;

    @Option(
            names = "--max-new-tokens",
            defaultValue = "64",
            description = "Tokens to generate at most (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--chat", description = "Lay the prompt out in the checkpoint's chat template.")
    boolean chat;

    @Option(
            names = "--adapter",
            description =
                    "A LoRA adapter in safetensors (tensor names layer<i>.<module>.lora_A/B, e.g. a"
                            + " FedPIT local adapter).")
    Path adapter;

    @Option(names = "--version", description = "A global version of --federation to apply.")
    Long version;

    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (with --version).")
    String bootstrap;

    @Option(
            names = "--federation",
            defaultValue = "demo",
            description = "Federation id (default ${DEFAULT-VALUE}).")
    String federation;

    @Option(
            names = "--global-models-topic",
            defaultValue = Topics.GLOBAL_MODELS,
            description = "Topic of the global versions (default ${DEFAULT-VALUE}).")
    String globalModelsTopic;

    @Option(
            names = "--kafka-config",
            description = "Java properties file of extra Kafka client settings (SASL/SSL).")
    Path kafkaConfig;

    @Option(
            names = "--lora-alpha",
            defaultValue = "16",
            description =
                    "LoRA alpha the adapter was trained with: scaling = alpha / rank (default"
                            + " ${DEFAULT-VALUE}, the worker's).")
    double loraAlpha;

    @Option(
            names = "--timeout",
            defaultValue = "PT60S",
            description =
                    "--version: how long to look for it, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() {
        try {
            run();
            return 0;
        } catch (IllegalArgumentException | IllegalStateException | IOException e) {
            System.err.println("generate: " + e.getMessage());
            return 2;
        } catch (UncheckedIOException e) {
            System.err.println("generate: " + e.getCause().getMessage());
            return 2;
        }
    }

    private void run() throws IOException {
        if (adapter != null && version != null) {
            throw new IllegalArgumentException("--adapter and --version exclude each other");
        }
        if (version != null && bootstrap == null) {
            throw new IllegalArgumentException("--version needs --bootstrap");
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("--max-new-tokens must be at least 1");
        }
        DecoderCheckpoint.requireTokenizer(decoder);
        Map<String, FloatTensor> values =
                adapter != null
                        ? SafeTensors.read(adapter)
                        : version != null ? globalVersion() : Map.of();
        DecoderLora lora = loraOf(values, loraAlpha);
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(decoder);
        ChatTemplate template = null;
        if (chat) {
            template = ChatTemplate.of(decoder, checkpoint.config());
            if (template == null) {
                throw new IllegalArgumentException(
                        decoder + " has no chat template (tokenizer_config.json chat_template)");
            }
        }
        try (LoraCausalLm lm = new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, lora), 0);
                HuggingFaceTokenizer tokenizer = checkpoint.tokenizer(!chat)) {
            if (!values.isEmpty()) {
                Map<String, float[]> flat = new LinkedHashMap<>();
                values.forEach((k, v) -> flat.put(k, v.data()));
                lm.setAdapter(flat);
            }
            long[] ids =
                    template != null
                            ? template.prompt(tokenizer, prompt)
                            : tokenizer.encode(prompt).getIds();
            int end = template != null ? template.endOfTurn() : -1;
            long[] out =
                    GreedyDecoding.generate(lm, ids, maxNewTokens, g -> g[g.length - 1] == end);
            if (out.length > 0 && out[out.length - 1] == end) {
                out = Arrays.copyOf(out, out.length - 1);
            }
            System.out.println(
                    "ids:"
                            + Arrays.stream(out)
                                    .mapToObj(i -> " " + i)
                                    .collect(Collectors.joining()));
            System.out.println(tokenizer.decode(out, true));
        }
    }

    /** The adapter layout of a set of LoRA tensors: their rank and modules, scaled by alpha. */
    static DecoderLora loraOf(Map<String, FloatTensor> values, double alpha) {
        if (values.isEmpty()) {
            return DecoderLora.none();
        }
        EnumSet<DecoderLora.Module> targets = EnumSet.noneOf(DecoderLora.Module.class);
        int rank = -1;
        for (Map.Entry<String, FloatTensor> e : values.entrySet()) {
            String[] parts = e.getKey().split("\\.");
            if (parts.length != 3 || !parts[0].startsWith("layer")) {
                throw new IllegalArgumentException(
                        "adapter tensor " + e.getKey() + " is not layer<i>.<module>.lora_A/B");
            }
            targets.add(DecoderLora.Module.fromName(parts[1]));
            if (parts[2].equals("lora_A")) {
                int r = e.getValue().dim(0);
                if (rank >= 0 && r != rank) {
                    throw new IllegalArgumentException(
                            "adapter tensor " + e.getKey() + " has rank " + r + ", others " + rank);
                }
                rank = r;
            }
        }
        if (rank <= 0) {
            throw new IllegalArgumentException("the adapter has no lora_A tensors");
        }
        return new DecoderLora(rank, alpha, 0, targets);
    }

    /** Global version {@link #version} of {@link #federation}, assembled and verified. */
    private Map<String, FloatTensor> globalVersion() throws IOException {
        AvroCodec.trustGeneratedClasses();
        Properties p = AuditCommand.loadProperties(kafkaConfig);
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        p.put("max.partition.fetch.bytes", Integer.toString(64 << 20));
        p.put("fetch.max.bytes", Integer.toString(64 << 20));
        GlobalModelAssembler assembler = new GlobalModelAssembler();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts =
                    c.partitionsFor(globalModelsTopic, timeout).stream()
                            .map(i -> new TopicPartition(i.topic(), i.partition()))
                            .toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts, timeout);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    for (GlobalModel g : assembler.accept(r.value())) {
                        if (g.getFederationId().equals(federation) && g.getVersion() == version) {
                            Map<String, FloatTensor> out = new LinkedHashMap<>();
                            for (Tensor t : g.getTensors()) {
                                int[] shape =
                                        t.getShape().stream().mapToInt(Integer::intValue).toArray();
                                out.put(
                                        t.getName(),
                                        new FloatTensor(shape, TensorCodec.toFloats(t)));
                            }
                            return out;
                        }
                    }
                }
                boolean atEnd = true;
                for (TopicPartition tp : parts) {
                    atEnd &= c.position(tp) >= end.get(tp);
                }
                if (atEnd) {
                    break;
                }
            }
        }
        throw new IllegalArgumentException(
                "version "
                        + version
                        + " of federation "
                        + federation
                        + " is not in topic "
                        + globalModelsTopic
                        + " at "
                        + bootstrap);
    }
}
