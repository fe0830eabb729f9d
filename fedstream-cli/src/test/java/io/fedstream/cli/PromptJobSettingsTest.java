package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code prompt-job --set} takes the options the prompt job reads, and only those. */
class PromptJobSettingsTest {
    private final PromptJobCommand command = new PromptJobCommand();

    @Test
    void theSharedRoundAndKafkaOptionsAreAccepted() {
        assertThatCode(
                        () ->
                                LocalJobCommand.checkSettings(
                                        Map.of(
                                                "fedstream.round.quorum", "5",
                                                "fedstream.staleness.max", "3",
                                                "fedstream.kafka.max-record-size", "2 mb",
                                                "fedstream.prompt.max-tokens", "32"),
                                        command.settableOptions()))
                .doesNotThrowAnyException();
    }

    @Test
    void anAdapterOnlyOptionIsRefusedByName() {
        assertThatThrownBy(
                        () ->
                                LocalJobCommand.checkSettings(
                                        Map.of("fedstream.aggregation.rule", "median"),
                                        command.settableOptions()))
                .isInstanceOf(Errors.UsageError.class)
                .hasMessageContaining("fedstream.aggregation.rule");
    }
}
