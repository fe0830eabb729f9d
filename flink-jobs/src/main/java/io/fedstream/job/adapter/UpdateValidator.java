package io.fedstream.job.adapter;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.job.ChunkData;
import io.fedstream.job.RawRecord;
import io.fedstream.job.Rejections;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.BlockQuantization;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.schemas.avro.TensorInfo;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

// Over 600 lines: stateless checks of the topic's three record types, sharing helpers.
/**
 * Stateless validation of one record from the updates topic: it decodes, and checks it against its
 * federation's spec and the configured bounds. Everything that needs no history is checked here;
 * duplicates and staleness need the federation's state and are checked by the round coordinator.
 *
 * <p>{@link #parts} handles the three record types of the topic: an {@link UpdateChunk} becomes a
 * receipt (digest, sum of squares, or the problem found) for the coordinator plus, if usable, its
 * data for the chunk's aggregator; an {@link UpdateManifest} becomes a header (after the signature
 * check); a whole {@link AdapterUpdate} is checked by {@link #validate} as before and split into
 * the same header, receipts and chunks.
 */
public final class UpdateValidator implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Configured bounds on an update. */
    public record Limits(long maxExamples, double maxAbsValue, double maxL2Norm)
            implements Serializable {}

    /** What validation decided. */
    public sealed interface Outcome {}

    public record Accepted(ValidUpdate update) implements Outcome {}

    /** What a valid record contributes: events for the coordinator, chunks for the aggregators. */
    public record Parts(List<UpdateEvent> events, List<ChunkData> chunks) implements Outcome {}

    public record Rejected(
            RejectReason reason, String detail, String federationId, String siteId, String updateId)
            implements Outcome, Rejections.Refusal {}

    private final Map<String, FederationSpec> federations;
    private final Limits limits;
    private final SiteKeys siteKeys;
    private final Map<String, ChunkLayout> layouts;

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
        Map<String, ChunkLayout> l = new HashMap<>();
        federations.forEach((id, spec) -> l.put(id, spec.layout()));
        this.layouts = l;
    }

    /** Validates a record of any of the topic's types; the outcome is {@link Parts} or rejected. */
    public Outcome parts(RawRecord raw) {
        if (AvroCodec.UPDATE_CHUNK.accepts(raw.value)) {
            return chunk(raw);
        }
        if (AvroCodec.UPDATE_MANIFEST.accepts(raw.value)) {
            return manifest(raw);
        }
        Outcome o = validate(raw);
        if (o instanceof Accepted a) {
            return split(a.update());
        }
        return o;
    }

    /** Validates a whole (legacy) AdapterUpdate. */
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
        Rejected badIds = checkIds(raw, fed, site, id);
        if (badIds != null) {
            return badIds;
        }
        FederationSpec spec = federations.get(fed);
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
            LittleEndianFloats.Kind kind = LittleEndianFloats.Kind.of(t.getDtype());
            if (kind.blockwise()) {
                return new Rejected(
                        RejectReason.BAD_ENCODING,
                        "tensor "
                                + ts.name()
                                + " is "
                                + t.getDtype()
                                + ", which travels only in update chunks",
                        fed,
                        site,
                        id);
            }
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

    private Outcome chunk(RawRecord raw) {
        UpdateChunk c;
        try {
            c = AvroCodec.UPDATE_CHUNK.decode(raw.value);
        } catch (AvroCodec.DecodeException e) {
            return new Rejected(RejectReason.MALFORMED, e.getMessage(), null, null, null);
        }
        String fed = c.getFederationId();
        String site = c.getSiteId();
        String id = c.getUpdateId();
        Rejected r = checkIds(raw, fed, site, id);
        if (r != null) {
            return r;
        }
        if (siteKeys != null && !siteKeys.knows(site)) {
            return new Rejected(
                    RejectReason.UNKNOWN_SITE,
                    "site '" + site + "' is not registered",
                    fed,
                    site,
                    id);
        }
        ChunkLayout layout = layouts.get(fed);
        int index = c.getChunkIndex();
        if (c.getChunkCount() != layout.chunkCount() || index < 0 || index >= layout.chunkCount()) {
            return new Rejected(
                    RejectReason.CORRUPT_CHUNK,
                    "chunk "
                            + index
                            + " of "
                            + c.getChunkCount()
                            + ": federation "
                            + fed
                            + " has "
                            + layout.chunkCount()
                            + " chunks",
                    fed,
                    site,
                    id);
        }
        UpdateEvent receipt = event(UpdateEvent.RECEIPT, raw, fed, site, id);
        receipt.chunkIndex = index;
        LittleEndianFloats.Kind kind = LittleEndianFloats.Kind.of(c.getDtype());
        ByteBuffer data = c.getData();
        int n = layout.chunkLength(index);
        long expectedBytes = (long) n * kind.bytes;
        if (kind.blockwise()) {
            byte[] bytes = toArray(data);
            String problem =
                    BlockQuantization.problem(
                            bytes, c.getDtype(), n, federations.get(fed).encoding().blockSize());
            if (problem != null) {
                receipt.sha256 = ChunkLayout.updateChunkSha256(c.getDtype(), bytes);
                receipt.problem = RejectReason.BAD_ENCODING.name();
                receipt.problemDetail = c.getDtype() + " chunk " + index + " " + problem;
                return new Parts(List.of(receipt), List.of());
            }
            expectedBytes = bytes.length;
        }
        if (data.remaining() != expectedBytes) {
            receipt.problem = RejectReason.CORRUPT_CHUNK.name();
            receipt.problemDetail =
                    "chunk "
                            + index
                            + " has "
                            + data.remaining()
                            + " bytes, expected "
                            + expectedBytes
                            + " for "
                            + c.getDtype();
            return new Parts(List.of(receipt), List.of());
        }
        byte[] bytes = toArray(data);
        LittleEndianFloats.Stats stats = LittleEndianFloats.stats(bytes, kind, n);
        receipt.sha256 = ChunkLayout.updateChunkSha256(c.getDtype(), bytes);
        receipt.sumSquares = stats.sumSquares();
        if (!stats.finite()) {
            receipt.problem = RejectReason.NON_FINITE.name();
            receipt.problemDetail = "chunk " + index + " holds NaN or infinity";
            return new Parts(List.of(receipt), List.of());
        }
        if (stats.maxAbs() > limits.maxAbsValue()) {
            receipt.problem = RejectReason.VALUE_OUT_OF_BOUNDS.name();
            receipt.problemDetail =
                    "chunk "
                            + index
                            + " holds |value| "
                            + stats.maxAbs()
                            + " > "
                            + limits.maxAbsValue();
            return new Parts(List.of(receipt), List.of());
        }
        receipt.hasData = true;
        return new Parts(
                List.of(receipt),
                List.of(chunkData(fed, site, id, index, kind, receipt.sha256, bytes)));
    }

    private Outcome manifest(RawRecord raw) {
        UpdateManifest m;
        try {
            m = AvroCodec.UPDATE_MANIFEST.decode(raw.value);
        } catch (AvroCodec.DecodeException e) {
            return new Rejected(RejectReason.MALFORMED, e.getMessage(), null, null, null);
        }
        String fed = m.getFederationId();
        String site = m.getSiteId();
        String id = m.getUpdateId();
        Rejected r = checkIds(raw, fed, site, id);
        if (r != null) {
            return r;
        }
        if (siteKeys != null) {
            Rejected unauthenticated =
                    authenticate(
                            fed, site, id, m.getSignature(), key -> UpdateSigning.verify(m, key));
            if (unauthenticated != null) {
                return unauthenticated;
            }
        }
        r = checkCounts(fed, site, id, m.getNumExamples(), m.getBaseVersion());
        if (r != null) {
            return r;
        }
        FederationSpec spec = federations.get(fed);
        ChunkLayout layout = layouts.get(fed);
        List<TensorSpec> expected = spec.tensors();
        List<TensorInfo> got = m.getTensors();
        for (int i = 0; i < Math.max(expected.size(), got.size()); i++) {
            if (i >= got.size()) {
                return new Rejected(
                        RejectReason.MISSING_TENSOR,
                        "tensor " + expected.get(i).name() + " is missing",
                        fed,
                        site,
                        id);
            }
            if (i >= expected.size() || !expected.get(i).name().equals(got.get(i).getName())) {
                return new Rejected(
                        RejectReason.UNEXPECTED_TENSOR,
                        "tensor "
                                + got.get(i).getName()
                                + " at position "
                                + i
                                + " is not the federation's "
                                + (i < expected.size() ? expected.get(i).name() : "(none)"),
                        fed,
                        site,
                        id);
            }
            if (!expected.get(i).hasShape(got.get(i).getShape())) {
                return new Rejected(
                        RejectReason.WRONG_SHAPE,
                        "tensor "
                                + got.get(i).getName()
                                + " has shape "
                                + got.get(i).getShape()
                                + ", expected "
                                + java.util.Arrays.toString(expected.get(i).shape()),
                        fed,
                        site,
                        id);
            }
            if (got.get(i).getDtype() != got.get(0).getDtype()) {
                return new Rejected(
                        RejectReason.MALFORMED,
                        "a chunked update has one dtype; tensor "
                                + got.get(i).getName()
                                + " is "
                                + got.get(i).getDtype(),
                        fed,
                        site,
                        id);
            }
        }
        if (m.getChunkElements() != layout.chunkElements()
                || m.getChunkSha256().size() != layout.chunkCount()) {
            return new Rejected(
                    RejectReason.MALFORMED,
                    "manifest has "
                            + m.getChunkSha256().size()
                            + " chunks of "
                            + m.getChunkElements()
                            + " elements; federation "
                            + fed
                            + " has "
                            + layout.chunkCount()
                            + " of "
                            + layout.chunkElements(),
                    fed,
                    site,
                    id);
        }
        for (String d : m.getChunkSha256()) {
            if (d.length() != 64 || !d.chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) {
                return new Rejected(
                        RejectReason.MALFORMED,
                        "chunk digest '" + d + "' is not SHA-256 hex",
                        fed,
                        site,
                        id);
            }
        }
        UpdateEvent header = event(UpdateEvent.HEADER, raw, fed, site, id);
        header.baseVersion = m.getBaseVersion();
        header.numExamples = m.getNumExamples();
        header.chunkSha256 = m.getChunkSha256().toArray(String[]::new);
        Double clip = m.getMetrics().get(io.fedstream.schemas.PrivacySpec.LOCAL_DP_CLIP_METRIC);
        Double noise = m.getMetrics().get(io.fedstream.schemas.PrivacySpec.LOCAL_DP_NOISE_METRIC);
        if (clip != null && noise != null && clip > 0 && noise > 0) { // NaN and junk: none
            header.localDpClipNorm = Math.min(clip, Double.MAX_VALUE);
            header.localDpNoiseMultiplier = Math.min(noise, Double.MAX_VALUE);
        }
        return new Parts(List.of(header), List.of());
    }

    /** A whole update as the chunked form: receipts and chunks, then its header. */
    private Parts split(ValidUpdate v) {
        ChunkLayout layout = layouts.get(v.federationId);
        LittleEndianFloats.Kind kind = LittleEndianFloats.Kind.values()[v.dtypes[0]];
        for (byte d : v.dtypes) {
            if (d != v.dtypes[0]) {
                kind = LittleEndianFloats.Kind.FLOAT32; // mixed: widen (exact for bfloat16)
            }
        }
        int es = kind.bytes;
        byte[][] chunks = new byte[layout.chunkCount()][];
        for (int c = 0; c < chunks.length; c++) {
            chunks[c] = new byte[layout.chunkLength(c) * es];
        }
        for (int t = 0; t < v.tensors.length; t++) {
            LittleEndianFloats.Kind k = LittleEndianFloats.Kind.values()[v.dtypes[t]];
            byte[] bytes =
                    k == kind
                            ? v.tensors[t]
                            : LittleEndianFloats.fromFloats(
                                    LittleEndianFloats.toFloats(v.tensors[t], k));
            long flat = layout.tensorStart(t);
            int done = 0;
            int left = layout.tensorSize(t);
            while (left > 0) {
                int c = (int) (flat / layout.chunkElements());
                int off = (int) (flat % layout.chunkElements());
                int n = Math.min(left, layout.chunkLength(c) - off);
                System.arraycopy(bytes, done * es, chunks[c], off * es, n * es);
                flat += n;
                done += n;
                left -= n;
            }
        }
        RawRecord where = new RawRecord(null, v.sourcePartition, v.sourceOffset, 0, null, null);
        List<UpdateEvent> events = new ArrayList<>(chunks.length + 1);
        List<ChunkData> data = new ArrayList<>(chunks.length);
        String[] digests = new String[chunks.length];
        DType dtype = kind == LittleEndianFloats.Kind.FLOAT32 ? DType.FLOAT32 : DType.BFLOAT16;
        for (int c = 0; c < chunks.length; c++) {
            UpdateEvent receipt =
                    event(UpdateEvent.RECEIPT, where, v.federationId, v.siteId, v.updateId);
            receipt.chunkIndex = c;
            receipt.sha256 = ChunkLayout.updateChunkSha256(dtype, chunks[c]);
            receipt.sumSquares = LittleEndianFloats.stats(chunks[c], kind).sumSquares();
            receipt.hasData = true;
            receipt.whole = true;
            digests[c] = receipt.sha256;
            events.add(receipt);
            data.add(
                    chunkData(
                            v.federationId,
                            v.siteId,
                            v.updateId,
                            c,
                            kind,
                            receipt.sha256,
                            chunks[c]));
        }
        UpdateEvent header = event(UpdateEvent.HEADER, where, v.federationId, v.siteId, v.updateId);
        header.baseVersion = v.baseVersion;
        header.numExamples = v.numExamples;
        header.chunkSha256 = digests;
        header.whole = true;
        events.add(header);
        return new Parts(events, data);
    }

    private Rejected checkIds(RawRecord raw, String fed, String site, String id) {
        if (!federations.containsKey(fed)) {
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
        if (id.indexOf(UpdateKey.SEPARATOR) >= 0 || site.indexOf(UpdateKey.SEPARATOR) >= 0) {
            // the job identifies an update by the pair (site, update id), joined with NUL
            return new Rejected(
                    RejectReason.MALFORMED,
                    "update id and site id must not contain NUL characters",
                    fed,
                    site,
                    id);
        }
        return null;
    }

    private Rejected checkCounts(String fed, String site, String id, long examples, long base) {
        if (examples <= 0 || examples > limits.maxExamples()) {
            return new Rejected(
                    RejectReason.BAD_EXAMPLE_COUNT,
                    "num_examples " + examples + " is outside [1, " + limits.maxExamples() + "]",
                    fed,
                    site,
                    id);
        }
        if (base < 0) {
            return new Rejected(
                    RejectReason.MALFORMED, "base_version " + base + " is negative", fed, site, id);
        }
        return null;
    }

    private static UpdateEvent event(byte type, RawRecord raw, String fed, String site, String id) {
        UpdateEvent e = new UpdateEvent();
        e.type = type;
        e.federationId = fed;
        e.siteId = site;
        e.updateId = id;
        e.sourcePartition = raw.partition;
        e.sourceOffset = raw.offset;
        return e;
    }

    private static ChunkData chunkData(
            String fed,
            String site,
            String id,
            int index,
            LittleEndianFloats.Kind kind,
            String sha,
            byte[] bytes) {
        ChunkData d = new ChunkData();
        d.federationId = fed;
        d.siteId = site;
        d.updateId = id;
        d.chunkIndex = index;
        d.kind = (byte) kind.ordinal();
        d.sha256 = sha;
        d.data = bytes;
        return d;
    }

    /** Null if the update is signed by one of its site's registered keys. */
    private Rejected authenticate(AdapterUpdate u) {
        return authenticate(
                u.getFederationId(),
                u.getSiteId(),
                u.getUpdateId(),
                u.getSignature(),
                key -> UpdateSigning.verify(u, key));
    }

    private Rejected authenticate(
            String fed,
            String site,
            String id,
            io.fedstream.schemas.avro.Signature signature,
            java.util.function.Predicate<java.security.PublicKey> verifies) {
        if (!siteKeys.knows(site)) {
            return new Rejected(
                    RejectReason.UNKNOWN_SITE,
                    "site '" + site + "' is not registered",
                    fed,
                    site,
                    id);
        }
        if (signature == null) {
            return new Rejected(
                    RejectReason.MISSING_SIGNATURE, "the update is not signed", fed, site, id);
        }
        String keyId = signature.getKeyId();
        var key = siteKeys.key(site, keyId);
        if (key.isEmpty()) {
            return new Rejected(
                    RejectReason.BAD_SIGNATURE,
                    "key '" + keyId + "' is not registered for site '" + site + "'",
                    fed,
                    site,
                    id);
        }
        if (!verifies.test(key.get())) {
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
