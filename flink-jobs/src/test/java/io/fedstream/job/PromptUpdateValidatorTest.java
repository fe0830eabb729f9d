package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.job.prompt.PromptUpdateValidator;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.PromptToken;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.schemas.avro.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class PromptUpdateValidatorTest {
    private static final Set<String> VOCABULARY = Set.of("classify", "the", "review", "movie");
    private final PromptUpdateValidator validator =
            new PromptUpdateValidator(Set.of("imdb"), 3, 1000);

    private static PromptUpdate.Builder update(String... words) {
        List<PromptToken> tokens = new ArrayList<>();
        for (int i = 0; i < words.length; i++) {
            tokens.add(PromptToken.newBuilder().setToken(words[i]).setPosition(i).build());
        }
        return PromptUpdate.newBuilder()
                .setUpdateId("s1/v0")
                .setFederationId("imdb")
                .setSiteId("s1")
                .setBaseVersion(0)
                .setTokens(tokens)
                .setAccuracy(0.7)
                .setApiCalls(100)
                .setNumExamples(40)
                .setCreatedAtMs(Instant.ofEpochMilli(1));
    }

    private PromptUpdateValidator.Outcome validate(PromptUpdate u, String key) {
        RawRecord raw =
                new RawRecord(
                        "prompt-updates",
                        1,
                        7,
                        0,
                        key.getBytes(StandardCharsets.UTF_8),
                        AvroCodec.PROMPT_UPDATE.encode(u));
        return validator.validate(raw, VOCABULARY::contains);
    }

    private RejectReason reason(Consumer<PromptUpdate.Builder> change) {
        PromptUpdate.Builder b = update("classify", "the", "review");
        change.accept(b);
        PromptUpdateValidator.Outcome o = validate(b.build(), "imdb");
        assertThat(o).isInstanceOf(PromptUpdateValidator.Rejected.class);
        return ((PromptUpdateValidator.Rejected) o).reason();
    }

    @Test
    void acceptsAWellFormedPromptWithItsCoordinates() {
        PromptUpdateValidator.Outcome o =
                validate(update("classify", "the", "review").build(), "imdb");

        assertThat(o).isInstanceOf(PromptUpdateValidator.Accepted.class);
        ValidPrompt p = ((PromptUpdateValidator.Accepted) o).prompt();
        assertThat(p.tokens).containsExactly("classify", "the", "review");
        assertThat(p.sourcePartition).isEqualTo(1);
        assertThat(p.sourceOffset).isEqualTo(7);
        assertThat(p.apiCalls).isEqualTo(100);
    }

    @Test
    void rejectsEachKindOfBadUpdateWithItsReason() {
        assertThat(reason(b -> b.setFederationId("other")))
                .isEqualTo(RejectReason.UNKNOWN_FEDERATION);
        assertThat(reason(b -> b.setNumExamples(0))).isEqualTo(RejectReason.BAD_EXAMPLE_COUNT);
        assertThat(reason(b -> b.setNumExamples(1001))).isEqualTo(RejectReason.BAD_EXAMPLE_COUNT);
        assertThat(reason(b -> b.setAccuracy(Double.NaN)))
                .isEqualTo(RejectReason.VALUE_OUT_OF_BOUNDS);
        assertThat(reason(b -> b.setAccuracy(-0.1))).isEqualTo(RejectReason.VALUE_OUT_OF_BOUNDS);
        assertThat(reason(b -> b.setApiCalls(-1))).isEqualTo(RejectReason.MALFORMED);
        assertThat(reason(b -> b.setTokens(List.of()))).isEqualTo(RejectReason.MALFORMED);
        assertThat(reason(b -> b.setTokens(update("the", "the", "the", "the").getTokens())))
                .isEqualTo(RejectReason.MALFORMED); // longer than 3
        assertThat(
                        reason(
                                b ->
                                        b.getTokens()
                                                .set(
                                                        1,
                                                        PromptToken.newBuilder()
                                                                .setToken("the")
                                                                .setPosition(5)
                                                                .build())))
                .isEqualTo(RejectReason.MALFORMED);
        assertThat(reason(b -> b.setTokens(update("classify", "zebra").getTokens())))
                .isEqualTo(RejectReason.MALFORMED);
        assertThat(validate(update("the").build(), "not-imdb"))
                .isInstanceOf(PromptUpdateValidator.Rejected.class)
                .extracting(o -> ((PromptUpdateValidator.Rejected) o).reason())
                .isEqualTo(RejectReason.KEY_MISMATCH);
    }

    @Test
    void sortsUndecodableBytesByKind() {
        RawRecord text =
                new RawRecord("prompt-updates", 0, 0, 0, null, "hello, not avro".getBytes());
        RawRecord adapterUpdate =
                new RawRecord(
                        "prompt-updates",
                        0,
                        1,
                        0,
                        null,
                        AvroCodec.GLOBAL_PROMPT.encode(
                                PromptRoundAggregator.globalPrompt(
                                        "imdb",
                                        0,
                                        -1,
                                        List.of("the"),
                                        io.fedstream.schemas.avro.PromptCloseReason.GENESIS,
                                        "genesis",
                                        java.util.Map.of(),
                                        List.of(),
                                        List.of(),
                                        0,
                                        0)));

        assertThat(((PromptUpdateValidator.Rejected) validator.validate(text, t -> true)).reason())
                .isEqualTo(RejectReason.NOT_AVRO);
        assertThat(
                        ((PromptUpdateValidator.Rejected)
                                        validator.validate(adapterUpdate, t -> true))
                                .reason())
                .isEqualTo(RejectReason.UNKNOWN_SCHEMA);
    }
}
