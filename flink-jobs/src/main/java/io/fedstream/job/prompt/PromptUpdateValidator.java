package io.fedstream.job.prompt;

import io.fedstream.job.RawRecord;
import io.fedstream.job.Rejections;
import io.fedstream.job.ValidPrompt;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.PromptToken;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.schemas.avro.RejectReason;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Stateless validation of one record from the prompt updates topic: decoding ({@code NOT_AVRO},
 * {@code UNKNOWN_SCHEMA}, {@code MALFORMED}), a configured federation ({@code UNKNOWN_FEDERATION}),
 * the key ({@code KEY_MISMATCH}), the example count ({@code BAD_EXAMPLE_COUNT}), the accuracy in
 * [0, 1] ({@code VALUE_OUT_OF_BOUNDS}), and the prompt itself ({@code MALFORMED} with the detail):
 * 1..maxTokens tokens at positions 0..n-1 in order, each in the embedding table's vocabulary, and a
 * non-negative API call count.
 */
public final class PromptUpdateValidator implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Set<String> federations;
    private final int maxTokens;
    private final long maxExamples;

    public PromptUpdateValidator(Set<String> federations, int maxTokens, long maxExamples) {
        this.federations = Set.copyOf(federations);
        this.maxTokens = maxTokens;
        this.maxExamples = maxExamples;
    }

    /** Checks {@code raw}; {@code vocabulary} tells which tokens the embedding table knows. */
    public Outcome validate(RawRecord raw, Predicate<String> vocabulary) {
        PromptUpdate u;
        try {
            u = AvroCodec.PROMPT_UPDATE.decode(raw.value);
        } catch (AvroCodec.NotAvroException e) {
            return reject(RejectReason.NOT_AVRO, e.getMessage(), null);
        } catch (AvroCodec.UnknownSchemaException e) {
            return reject(RejectReason.UNKNOWN_SCHEMA, e.getMessage(), null);
        } catch (AvroCodec.DecodeException e) {
            return reject(RejectReason.MALFORMED, e.getMessage(), null);
        }
        if (!federations.contains(u.getFederationId())) {
            return reject(
                    RejectReason.UNKNOWN_FEDERATION,
                    "federation '" + u.getFederationId() + "' is not configured",
                    u);
        }
        String key = raw.key == null ? null : new String(raw.key, StandardCharsets.UTF_8);
        if (!u.getFederationId().equals(key)) {
            return reject(
                    RejectReason.KEY_MISMATCH,
                    "record key '" + key + "' is not the federation id " + u.getFederationId(),
                    u);
        }
        if (u.getNumExamples() < 1 || u.getNumExamples() > maxExamples) {
            return reject(
                    RejectReason.BAD_EXAMPLE_COUNT,
                    "num_examples " + u.getNumExamples() + " outside [1, " + maxExamples + "]",
                    u);
        }
        if (!(u.getAccuracy() >= 0 && u.getAccuracy() <= 1)) {
            return reject(
                    RejectReason.VALUE_OUT_OF_BOUNDS,
                    "accuracy " + u.getAccuracy() + " outside [0, 1]",
                    u);
        }
        if (u.getApiCalls() < 0) {
            return reject(RejectReason.MALFORMED, "negative api_calls " + u.getApiCalls(), u);
        }
        List<PromptToken> tokens = u.getTokens();
        if (tokens.isEmpty() || tokens.size() > maxTokens) {
            return reject(
                    RejectReason.MALFORMED,
                    "prompt of " + tokens.size() + " tokens, allowed 1.." + maxTokens,
                    u);
        }
        String[] words = new String[tokens.size()];
        for (int i = 0; i < words.length; i++) {
            PromptToken t = tokens.get(i);
            if (t.getPosition() != i) {
                return reject(
                        RejectReason.MALFORMED,
                        "token " + i + " has position " + t.getPosition() + ", expected " + i,
                        u);
            }
            if (!vocabulary.test(t.getToken())) {
                return reject(
                        RejectReason.MALFORMED,
                        "token '" + t.getToken() + "' is not in the embedding vocabulary",
                        u);
            }
            words[i] = t.getToken();
        }
        ValidPrompt v = new ValidPrompt();
        v.federationId = u.getFederationId();
        v.updateId = u.getUpdateId();
        v.siteId = u.getSiteId();
        v.baseVersion = u.getBaseVersion();
        v.tokens = words;
        v.accuracy = u.getAccuracy();
        v.apiCalls = u.getApiCalls();
        v.numExamples = u.getNumExamples();
        v.sourcePartition = raw.partition;
        v.sourceOffset = raw.offset;
        return new Accepted(v);
    }

    /** What validation decided. */
    public sealed interface Outcome {}

    public record Accepted(ValidPrompt prompt) implements Outcome {}

    public record Rejected(
            RejectReason reason, String detail, String federationId, String siteId, String updateId)
            implements Outcome, Rejections.Refusal {}

    private static Rejected reject(RejectReason reason, String detail, PromptUpdate u) {
        return new Rejected(
                reason,
                detail,
                u == null ? null : u.getFederationId(),
                u == null ? null : u.getSiteId(),
                u == null ? null : u.getUpdateId());
    }
}
