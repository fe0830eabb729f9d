package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.Topics;
import io.fedstream.testing.GlobalVersions;
import io.fedstream.worker.decoder.CausalLm;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderLora;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.SafeTensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate --version N --bootstrap ...} against a real broker: a global version published as
 * the job publishes it (chunks, then the manifest) generates exactly what the same adapter as a
 * file ({@code --adapter}) generates, and not what a neighbouring version does.
 */
class GenerateCommandIT {
    @TempDir Path dir;

    @Test
    void aGlobalVersionFromKafkaGeneratesAsItsAdapterFileDoes() throws Exception {
        Path model =
                GenerateCommandTest.checkpoint(
                        dir, "qwen2", GenerateCommandTest.QWEN2, GenerateCommandTest.CHATML);
        DecoderLora lora =
                DecoderLora.of(2, 16, 0, DecoderLora.Module.Q_PROJ, DecoderLora.Module.V_PROJ);
        DecoderCheckpoint cp = DecoderCheckpoint.load(model);
        Map<String, FloatTensor> adapter = GenerateCommandTest.randomAdapter(cp.config(), lora, 3);
        Map<String, FloatTensor> other = GenerateCommandTest.randomAdapter(cp.config(), lora, 4);
        Path file = dir.resolve("adapter.safetensors");
        SafeTensors.write(file, adapter);
        FederationSpec spec =
                new FederationSpec("clinic", 1, CausalLm.adapterTensors(cp.config(), lora));

        GenerateCommandTest.Run fromKafka;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
            GlobalVersions.publish(kafka, spec, 2, flat(other));
            GlobalVersions.publish(kafka, spec, 3, flat(adapter));
            fromKafka =
                    GenerateCommandTest.askAboutACold(
                            model,
                            8,
                            "--version",
                            "3",
                            "--federation",
                            "clinic",
                            "--bootstrap",
                            kafka.bootstrapServers());
        }
        GenerateCommandTest.Run fromFile =
                GenerateCommandTest.askAboutACold(model, 8, "--adapter", file.toString());
        Path otherFile = dir.resolve("other.safetensors");
        SafeTensors.write(otherFile, other);
        GenerateCommandTest.Run fromOther =
                GenerateCommandTest.askAboutACold(model, 8, "--adapter", otherFile.toString());

        assertThat(fromKafka.code()).as(fromKafka.err()).isZero();
        assertThat(fromFile.code()).as(fromFile.err()).isZero();
        long[] ids = GenerateCommandTest.idsLine(fromKafka.out());
        assertThat(ids).isNotEmpty().containsExactly(GenerateCommandTest.idsLine(fromFile.out()));
        assertThat(fromKafka.out()).isEqualTo(fromFile.out());
        // the version matters: version 2's adapter generates something else
        assertThat(GenerateCommandTest.idsLine(fromOther.out())).isNotEqualTo(ids);
    }

    private static Map<String, float[]> flat(Map<String, FloatTensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k, v.data()));
        return out;
    }
}
