package io.fedstream.job;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.Tensor;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Stateless validation of one record from the updates topic: it decodes, and checks it against its
 * federation's spec and the configured bounds. Everything that needs no history is checked here;
 * duplicates and staleness need the federation's state and are checked by the round operator.
 */
public final class UpdateValidator implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Configured bounds on an update. */
    public record Limits(long maxExamples, double maxAbsValue, double maxL2Norm)
            implements Serializable {}

    /** What validation decided. */
    public sealed interface Outcome {}

    public record Accepted(ValidUpdate update) implements Outcome {}

    public record Rejected(
            RejectReason reason, String detail, String federationId, String siteId, String updateId)
            implements Outcome {}

    private final Map<String, FederationSpec> federations;
    private final Limits limits;
    private final SiteKeys siteKeys;

    /** A validator that does not authenticate updates. */
    public UpdateValidator(Map<String, FederationSpec> federations, Limits limits) {
        this(federations, limits, null);
    }

    /** With {@code siteKeys} non-null, every update must be signed by a registered site's key. */
    public UpdateValidator(
            Map<String, FederationSpec> federations, Limits limits, SiteKeys siteKeys) {
        this.federations = Map.copyOf(federations);
        this.limits = limits;
        this.siteKeys = siteKeys;
    }

    public Outcome validate(RawRecord raw) {
        AdapterUpdate u;
        try {
            u = AvroCodec.ADAPTER_UPDATE.decode(raw.value);
        } catch (AvroCodec.NotAvroException e) {
            return new Rejected(RejectReason.NOT_AVRO, e.getMessage(), null, null, null);
        } catch (AvroCodec.UnknownSchemaException e) {
            return new Rejected(RejectReason.UNKNOWN_SCHEMA, e.getMessage(), null, null, null);
        } catch (AvroCodec.DecodeException e) {
            return new Rejected(RejectReason.MALFORMED, e.getMessage(), null, null, null);
        }
        String fed = u.getFederationId();
        String site = u.getSiteId();
        String id = u.getUpdateId();
        FederationSpec spec = federations.get(fed);
        if (spec == null) {
            return new Rejected(
                    RejectReason.UNKNOWN_FEDERATION,
                    "federation '" + fed + "' is not configured in this job",
                    fed,
                    site,
                    id);
        }
        if (raw.key != null && !fed.equals(new String(raw.key, StandardCharsets.UTF_8))) {
            return new Rejected(
                    RejectReason.KEY_MISMATCH,
                    "record key '"
                            + new String(raw.key, StandardCharsets.UTF_8)
                            + "' is not the update's federation id",
                    fed,
                    site,
                    id);
        }
        if (id.isBlank() || site.isBlank()) {
            return new Rejected(
                    RejectReason.MALFORMED,
                    "update id and site id must not be blank",
                    fed,
                    site,
                    id);
        }
        if (siteKeys != null) {
            Rejected unauthenticated = authenticate(u);
            if (unauthenticated != null) {
                return unauthenticated;
            }
        }
        if (u.getNumExamples() <= 0 || u.getNumExamples() > limits.maxExamples()) {
            return new Rejected(
                    RejectReason.BAD_EXAMPLE_COUNT,
                    "num_examples "
                            + u.getNumExamples()
                            + " is outside [1, "
                            + limits.maxExamples()
                            + "]",
                    fed,
                    site,
                    id);
        }
        if (u.getBaseVersion() < 0) {
            return new Rejected(
                    RejectReason.MALFORMED,
                    "base_version " + u.getBaseVersion() + " is negative",
                    fed,
                    site,
                    id);
        }

        List<TensorSpec> expected = spec.tensors();
        Map<String, Tensor> byName = new HashMap<>();
        for (Tensor t : u.getTensors()) {
            if (byName.put(t.getName(), t) != null) {
                return new Rejected(
                        RejectReason.UNEXPECTED_TENSOR,
                        "tensor " + t.getName() + " appears twice",
                        fed,
                        site,
                        id);
            }
        }
        for (TensorSpec ts : expected) {
            if (!byName.containsKey(ts.name())) {
                return new Rejected(
                        RejectReason.MISSING_TENSOR,
                        "tensor " + ts.name() + " is missing",
                        fed,
                        site,
                        id);
            }
        }
        if (byName.size() != expected.size()) {
            for (String name : byName.keySet()) {
                if (expected.stream().noneMatch(ts -> ts.name().equals(name))) {
                    return new Rejected(
                            RejectReason.UNEXPECTED_TENSOR,
                            "tensor " + name + " is not part of federation " + fed,
                            fed,
                            site,
                            id);
                }
            }
        }

        ValidUpdate v = new ValidUpdate();
        v.federationId = fed;
        v.updateId = id;
        v.siteId = site;
        v.baseVersion = u.getBaseVersion();
        v.numExamples = u.getNumExamples();
        v.sourcePartition = raw.partition;
        v.sourceOffset = raw.offset;
        v.dtypes = new byte[expected.size()];
        v.tensors = new byte[expected.size()][];
        double sumSquares = 0;
        for (int i = 0; i < expected.size(); i++) {
            TensorSpec ts = expected.get(i);
            Tensor t = byName.get(ts.name());
            if (!ts.hasShape(t.getShape())) {
                return new Rejected(
                        RejectReason.WRONG_SHAPE,
                        "tensor "
                                + ts.name()
                                + " has shape "
                                + t.getShape()
                                + ", expected "
                                + java.util.Arrays.toString(ts.shape()),
                        fed,
                        site,
                        id);
            }
            LittleEndianFloats.Kind kind =
                    switch (t.getDtype()) {
                        case FLOAT32 -> LittleEndianFloats.Kind.FLOAT32;
                        case BFLOAT16 -> LittleEndianFloats.Kind.BFLOAT16;
                    };
            ByteBuffer data = t.getData();
            long expectedBytes = (long) ts.size() * kind.bytes;
            if (data.remaining() != expectedBytes) {
                return new Rejected(
                        RejectReason.WRONG_SIZE,
                        "tensor "
                                + ts.name()
                                + " has "
                                + data.remaining()
                                + " bytes, expected "
                                + expectedBytes
                                + " for "
                                + t.getDtype(),
                        fed,
                        site,
                        id);
            }
            byte[] bytes = toArray(data);
            LittleEndianFloats.Stats stats = LittleEndianFloats.stats(bytes, kind);
            if (!stats.finite()) {
                return new Rejected(
                        RejectReason.NON_FINITE,
                        "tensor " + ts.name() + " holds NaN or infinity",
                        fed,
                        site,
                        id);
            }
            if (stats.maxAbs() > limits.maxAbsValue()) {
                return new Rejected(
                        RejectReason.VALUE_OUT_OF_BOUNDS,
                        "tensor "
                                + ts.name()
                                + " holds |value| "
                                + stats.maxAbs()
                                + " > "
                                + limits.maxAbsValue(),
                        fed,
                        site,
                        id);
            }
            sumSquares += stats.sumSquares();
            v.dtypes[i] = (byte) kind.ordinal();
            v.tensors[i] = bytes;
        }
        double norm = Math.sqrt(sumSquares);
        if (norm > limits.maxL2Norm()) {
            return new Rejected(
                    RejectReason.NORM_OUT_OF_BOUNDS,
                    "update L2 norm " + norm + " > " + limits.maxL2Norm(),
                    fed,
                    site,
                    id);
        }
        return new Accepted(v);
    }

    /** Null if the update is signed by one of its site's registered keys. */
    private Rejected authenticate(AdapterUpdate u) {
        String fed = u.getFederationId();
        String site = u.getSiteId();
        String id = u.getUpdateId();
        if (!siteKeys.knows(site)) {
            return new Rejected(
                    RejectReason.UNKNOWN_SITE,
                    "site '" + site + "' is not registered",
                    fed,
                    site,
                    id);
        }
        if (u.getSignature() == null) {
            return new Rejected(
                    RejectReason.MISSING_SIGNATURE, "the update is not signed", fed, site, id);
        }
        String keyId = u.getSignature().getKeyId();
        var key = siteKeys.key(site, keyId);
        if (key.isEmpty()) {
            return new Rejected(
                    RejectReason.BAD_SIGNATURE,
                    "key '" + keyId + "' is not registered for site '" + site + "'",
                    fed,
                    site,
                    id);
        }
        if (!UpdateSigning.verify(u, key.get())) {
            return new Rejected(
                    RejectReason.BAD_SIGNATURE,
                    "the signature does not verify with key '" + keyId + "'",
                    fed,
                    site,
                    id);
        }
        return null;
    }

    private static byte[] toArray(ByteBuffer data) {
        if (data.hasArray()
                && data.arrayOffset() == 0
                && data.position() == 0
                && data.remaining() == data.array().length) {
            return data.array();
        }
        byte[] out = new byte[data.remaining()];
        data.duplicate().get(out);
        return out;
    }
}
