package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.BlockQuantization;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.ErrorFeedback;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.UpdateEncoding;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.Signature;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import io.fedstream.testing.MiniClusters;
import io.fedstream.testing.SigningSites;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FuzzIT} for the chunked wire format: genuine signed updates sent as workers send them
 * (chunks, then the signed manifest) to a federation of three chunks, in turn in every update
 * encoding (FLOAT32, BFLOAT16, INT8, NF4), with hostile and damaged chunk and manifest records
 * interleaved, among them correctly signed updates whose INT8 or NF4 chunk breaks the encoding's
 * rules ({@code BAD_ENCODING}, one dead letter at the manifest). The job keeps running, publishes
 * the same versions as a run on the genuine records alone, counts each genuine update once, and
 * dead-letters every other record exactly once with a known reason, at the record's own offset.
 *
 * <p>Accounting: every mutant record is dead-lettered by itself, except the chunks of an update
 * that never gets a manifest, which are one rejection ({@code MISSING_CHUNK}, at the first of them)
 * for the update: without a manifest nothing tells a genuine copy from a bogus one.
 */
class ChunkFuzzIT {
    /** The one site, signing with its own key. */
    private static final SigningSites SITES = SigningSites.generate("site-1");

    static final FederationSpec SPEC = Fixtures.SPEC.withChunkElements(3); // 8 = 3 + 3 + 2

    /** Update i travels in encoding i mod 4. */
    static final List<UpdateEncoding> ENCODINGS =
            List.of(
                    UpdateEncoding.FLOAT32,
                    UpdateEncoding.parse("bfloat16"),
                    UpdateEncoding.parse("int8:64"),
                    UpdateEncoding.parse("nf4:64"));

    static final int GENUINE = 12;
    static final int MUTANTS_PER_UPDATE = 100;

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    /** One record to send, and how it must be accounted for. */
    record Sent(byte[] value, Kind kind, RejectReason expected, String group) {}

    enum Kind {
        /** Part of a genuine update: never dead-lettered. */
        GENUINE,
        /** Dead-lettered by itself, at its own offset. */
        OWN,
        /** A chunk of an update without a manifest: one rejection per {@link Sent#group}. */
        PER_UPDATE
    }

    record Update(List<UpdateChunk> chunks, UpdateManifest manifest) {}

    @Test
    void mutatedChunkRecordsNeverChangeAVersionAndEachIsDeadLetteredOnce() throws Exception {
        Path registry = SITES.writeRegistry(dir.resolve("keys.json"));
        List<Update> genuine = new ArrayList<>();
        for (int i = 0; i < GENUINE; i++) {
            genuine.add(
                    signedChunked(
                            genuineUpdate(i),
                            ENCODINGS.get(i % ENCODINGS.size()),
                            SITES.privateKey("site-1")));
        }
        List<Sent> clean = new ArrayList<>();
        for (Update u : genuine) {
            u.chunks().forEach(c -> clean.add(genuine(AvroCodec.UPDATE_CHUNK.encode(c))));
            clean.add(genuine(AvroCodec.UPDATE_MANIFEST.encode(u.manifest())));
        }
        SplittableRandom rnd = new SplittableRandom(2027);
        List<Sent> stream = new ArrayList<>();
        for (int i = 0; i < GENUINE; i++) {
            Update u = genuine.get(i);
            List<Sent> records = new ArrayList<>();
            u.chunks().forEach(c -> records.add(genuine(AvroCodec.UPDATE_CHUNK.encode(c))));
            List<Sent> tail = new ArrayList<>();
            for (int m = 0; m < MUTANTS_PER_UPDATE; m++) {
                List<Sent> mutant = mutate(i, m, genuine, rnd, SITES.privateKey("site-1"));
                if (mutant.get(0).group() == TAIL) {
                    tail.addAll(mutant);
                } else {
                    records.addAll(rnd.nextInt(records.size() + 1), mutant);
                }
            }
            stream.addAll(records); // the genuine chunks and the mutants, shuffled in
            stream.addAll(tail);
            stream.add(genuine(AvroCodec.UPDATE_MANIFEST.encode(u.manifest())));
            // after the manifest: replays and bogus copies of an update that is now accepted
            for (int m = 0; m < 4; m++) {
                stream.add(afterAcceptance(u, rnd));
            }
        }

        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            List<String> cleanVersions = run(kafka, "clean", clean, registry);
            List<String> fuzzedVersions = run(kafka, "fuzz", stream, registry);

            assertThat(fuzzedVersions).containsExactlyElementsOf(cleanVersions);
        }
    }

    private List<String> run(EmbeddedKafka kafka, String prefix, List<Sent> records, Path registry)
            throws Exception {
        List<String> coordinates =
                FuzzRun.send(kafka, prefix, SPEC.id(), records.stream().map(Sent::value).toList());
        Map<String, Sent> byCoordinates = new HashMap<>();
        for (int i = 0; i < records.size(); i++) {
            byCoordinates.put(coordinates.get(i), records.get(i));
        }
        assertThat(byCoordinates).hasSameSizeAs(records);
        Configuration conf = FuzzRun.configuration(kafka, prefix, registry);
        conf.set(FedStreamOptions.ASSEMBLY_TIMEOUT, Duration.ofSeconds(2));
        Map<String, Integer> groups = new HashMap<>();
        int expectedRejected = 0;
        for (Sent r : records) {
            if (r.kind() == Kind.OWN) {
                expectedRejected++;
            } else if (r.kind() == Kind.PER_UPDATE
                    && groups.merge(r.group(), 1, Integer::sum) == 1) {
                expectedRejected++;
            }
        }
        FuzzRun.Output out =
                FuzzRun.run(kafka, prefix, conf, SPEC, GENUINE, 1 + GENUINE / 3, expectedRejected);
        assertThat(out.counted()).allMatch(id -> id.startsWith(SPEC.id() + "-"));
        List<RejectedUpdate> rejected = out.rejected();

        // every dead letter names a mutant record; each record at most once
        Map<RejectReason, Integer> reasons = new EnumMap<>(RejectReason.class);
        Map<String, Integer> perGroup = new TreeMap<>();
        Map<String, RejectedUpdate> byRecord = new HashMap<>();
        for (RejectedUpdate d : rejected) {
            reasons.merge(d.getReason(), 1, Integer::sum);
            String at = d.getSourcePartition() + "@" + d.getSourceOffset();
            assertThat(byRecord.put(at, d)).as("dead-lettered twice: %s", d).isNull();
            Sent r = byCoordinates.get(at);
            assertThat(r).as("a dead letter for a record that was not sent: %s", d).isNotNull();
            assertThat(r.kind())
                    .as("a genuine record was dead-lettered: %s", d)
                    .isNotEqualTo(Kind.GENUINE);
            if (r.expected() != null) {
                assertThat(d.getReason()).as("%s", d).isEqualTo(r.expected());
            }
            if (r.kind() == Kind.PER_UPDATE) {
                perGroup.merge(r.group(), 1, Integer::sum);
            }
        }
        List<String> notDeadLettered =
                byCoordinates.entrySet().stream()
                        .filter(e -> e.getValue().kind() == Kind.OWN)
                        .map(Map.Entry::getKey)
                        .filter(at -> !byRecord.containsKey(at))
                        .sorted()
                        .toList();
        assertThat(notDeadLettered)
                .as(
                        "mutant records without a dead letter: %s",
                        notDeadLettered.stream()
                                .map(at -> describe(byCoordinates.get(at)))
                                .toList())
                .isEmpty();
        assertThat(perGroup)
                .as("one dead letter per update without a manifest")
                .hasSize(groups.size());
        assertThat(perGroup.values()).allMatch(n -> n == 1);
        assertThat(rejected).as("every other record accounted for once").hasSize(expectedRejected);
        assertThat(reasons).doesNotContainKey(RejectReason.UNKNOWN);
        if (!prefix.equals("clean")) {
            System.out.println(
                    "chunk fuzz: "
                            + records.size()
                            + " records, "
                            + (records.size() - 4 * GENUINE)
                            + " of them mutants, "
                            + groups.size()
                            + " updates without a manifest; rejected by reason: "
                            + reasons);
        }
        return out.versions();
    }

    /** What a sent record is, for failure messages. */
    private static String describe(Sent r) {
        String what = "other";
        if (AvroCodec.UPDATE_CHUNK.accepts(r.value())) {
            UpdateChunk c = AvroCodec.UPDATE_CHUNK.decode(r.value());
            what = "chunk " + c.getChunkIndex() + " " + c.getDtype() + " of " + c.getUpdateId();
        } else if (AvroCodec.UPDATE_MANIFEST.accepts(r.value())) {
            UpdateManifest m = AvroCodec.UPDATE_MANIFEST.decode(r.value());
            what = "manifest " + m.getTensors().get(0).getDtype() + " of " + m.getUpdateId();
        }
        return what + " (expected " + r.expected() + ")";
    }

    /** Random values (so no two chunks are alike), base versions zero or one round back. */
    private static AdapterUpdate genuineUpdate(int i) {
        AdapterUpdate u = ExactlyOnceIT.update(SPEC, i);
        u.setSiteId("site-1");
        return u;
    }

    private static Update signedChunked(AdapterUpdate u, UpdateEncoding enc, PrivateKey key) {
        UpdateChunking.Chunked c =
                UpdateChunking.split(
                        u,
                        SPEC.layout(),
                        enc,
                        new ErrorFeedback((int) SPEC.layout().totalElements()));
        UpdateSigning.sign(c.manifest(), SITES.keyId("site-1"), key);
        return new Update(c.chunks(), c.manifest());
    }

    private static Sent genuine(byte[] value) {
        return new Sent(value, Kind.GENUINE, null, null);
    }

    private static Sent own(byte[] value, RejectReason expected) {
        return new Sent(value, Kind.OWN, expected, null);
    }

    /**
     * An identical copy of one of the update's chunks, sent after the genuine chunks (of two
     * identical copies the first is the update's, the other the surplus one).
     */
    private static Sent replay(UpdateChunk c) {
        return new Sent(encode(c), Kind.OWN, RejectReason.DUPLICATE_UPDATE, TAIL);
    }

    static final String TAIL = "after the genuine chunks";

    private static byte[] encode(UpdateChunk c) {
        return AvroCodec.UPDATE_CHUNK.encode(c);
    }

    private static UpdateChunk copy(UpdateChunk c) {
        return UpdateChunk.newBuilder(c).build();
    }

    private static UpdateManifest copy(UpdateManifest m) {
        return UpdateManifest.newBuilder(m).build();
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    /**
     * One mutant (one or more records) sent among update {@code i}'s records, before its manifest.
     */
    private static List<Sent> mutate(
            int i, int m, List<Update> genuine, SplittableRandom rnd, PrivateKey key) {
        Update u = genuine.get(i);
        UpdateChunk chunk = copy(u.chunks().get(rnd.nextInt(u.chunks().size())));
        String ghost = SPEC.id() + "-ghost-" + i + "-" + m;
        switch (rnd.nextInt(14)) {
            case 0 -> { // bit flips in the chunk's data
                byte[] data = bytes(chunk.getData());
                for (int k = 1 + rnd.nextInt(3); k > 0; k--) {
                    data[rnd.nextInt(data.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
                if (java.util.Arrays.equals(data, bytes(chunk.getData()))) {
                    data[0] ^= 1; // flips that cancelled out
                }
                chunk.setData(ByteBuffer.wrap(data));
                return List.of(own(encode(chunk), RejectReason.CORRUPT_CHUNK));
            }
            case 1 -> { // the chunk's data truncated, or too long
                byte[] data = bytes(chunk.getData());
                byte[] cut =
                        java.util.Arrays.copyOf(
                                data,
                                rnd.nextBoolean()
                                        ? rnd.nextInt(data.length)
                                        : data.length + 1 + rnd.nextInt(8));
                chunk.setData(ByteBuffer.wrap(cut));
                return List.of(own(encode(chunk), RejectReason.CORRUPT_CHUNK));
            }
            case 2 -> { // a truncated chunk record, or garbage behind a chunk record's header
                byte[] g = encode(chunk);
                byte[] r;
                if (rnd.nextBoolean()) {
                    r = java.util.Arrays.copyOf(g, rnd.nextInt(g.length));
                } else {
                    r = new byte[10 + rnd.nextInt(200)];
                    for (int k = 0; k < r.length; k++) {
                        r[k] = (byte) rnd.nextInt(256);
                    }
                    System.arraycopy(g, 0, r, 0, 10);
                }
                return List.of(own(r, null)); // NOT_AVRO, UNKNOWN_SCHEMA or MALFORMED
            }
            case 3 -> { // a wrong chunk index (in or out of the layout)
                int index = chunk.getChunkIndex();
                chunk.setChunkIndex(
                        switch (rnd.nextInt(4)) {
                            case 0 -> -1;
                            case 1 -> 3;
                            default -> (index + 1 + rnd.nextInt(2)) % 3;
                        });
                return List.of(own(encode(chunk), RejectReason.CORRUPT_CHUNK));
            }
            case 4 -> { // another federation
                chunk.setFederationId("nope");
                return List.of(own(encode(chunk), RejectReason.UNKNOWN_FEDERATION));
            }
            case 5 -> { // under an update id already accepted
                if (i == 0) {
                    return List.of(replay(chunk));
                }
                chunk.setUpdateId(genuine.get(rnd.nextInt(i)).manifest().getUpdateId());
                return List.of(own(encode(chunk), RejectReason.DUPLICATE_UPDATE));
            }
            case 6 -> { // under the id of a genuine update still to come: a bogus copy of its chunk
                if (i + 1 >= genuine.size()) {
                    return List.of(replay(chunk));
                }
                chunk.setUpdateId(genuine.get(i + 1).manifest().getUpdateId());
                return List.of(own(encode(chunk), RejectReason.CORRUPT_CHUNK));
            }
            case 7 -> { // a replay of one of this update's chunks, before its manifest
                return List.of(replay(chunk));
            }
            case 8 -> { // a replay of an earlier update's chunk or manifest
                Update earlier = genuine.get(rnd.nextInt(Math.max(1, i)));
                if (i == 0) {
                    return List.of(replay(chunk));
                }
                byte[] r =
                        rnd.nextBoolean()
                                ? encode(earlier.chunks().get(rnd.nextInt(3)))
                                : AvroCodec.UPDATE_MANIFEST.encode(earlier.manifest());
                return List.of(own(r, RejectReason.DUPLICATE_UPDATE));
            }
            case 9 -> { // a tampered manifest: digests, example count or signature
                UpdateManifest t = copy(u.manifest());
                switch (rnd.nextInt(4)) {
                    case 0 -> {
                        List<String> d = new ArrayList<>(t.getChunkSha256());
                        d.set(rnd.nextInt(d.size()), SPEC_DIGEST_OF_ZEROS);
                        t.setChunkSha256(d);
                    }
                    case 1 -> t.setNumExamples(t.getNumExamples() + 1 + rnd.nextInt(500));
                    case 2 -> {
                        Signature s = Signature.newBuilder(t.getSignature()).build();
                        byte[] v = bytes(s.getValue());
                        v[rnd.nextInt(v.length)] ^= (byte) (1 << rnd.nextInt(8));
                        s.setValue(ByteBuffer.wrap(v));
                        t.setSignature(s);
                    }
                    default -> {
                        t.setSignature(null);
                        return List.of(
                                own(
                                        AvroCodec.UPDATE_MANIFEST.encode(t),
                                        RejectReason.MISSING_SIGNATURE));
                    }
                }
                return List.of(
                        own(AvroCodec.UPDATE_MANIFEST.encode(t), RejectReason.BAD_SIGNATURE));
            }
            case 10 -> { // a correctly signed manifest whose chunks never come
                UpdateManifest t = copy(u.manifest());
                t.setUpdateId(ghost);
                UpdateSigning.sign(t, SITES.keyId("site-1"), key);
                return List.of(
                        own(AvroCodec.UPDATE_MANIFEST.encode(t), RejectReason.MISSING_CHUNK));
            }
            case 12 -> { // a correctly signed INT8 or NF4 update with one chunk breaking the rules
                return badlyEncoded(i, ghost, rnd, key);
            }
            case 11 -> { // one chunk under a new id: an update without a manifest
                chunk.setUpdateId(ghost);
                return List.of(new Sent(encode(chunk), Kind.PER_UPDATE, null, ghost));
            }
            default -> { // every chunk of an update, but no manifest
                List<Sent> out = new ArrayList<>();
                for (UpdateChunk c : u.chunks()) {
                    UpdateChunk g = copy(c);
                    g.setUpdateId(ghost);
                    out.add(new Sent(encode(g), Kind.PER_UPDATE, null, ghost));
                }
                return out;
            }
        }
    }

    /**
     * A hostile site's update: update i's values in INT8 or NF4, one chunk's bytes then broken (a
     * NaN, negative or zero scale, INT8's -128, a set NF4 padding nibble, another block size, a
     * byte more or less), the manifest signed over the broken digest. Its chunks are the update's
     * own copies, so the update is dead-lettered once, {@code BAD_ENCODING}, at its manifest.
     */
    private static List<Sent> badlyEncoded(
            int i, String ghost, SplittableRandom rnd, PrivateKey key) {
        UpdateEncoding enc = ENCODINGS.get(2 + rnd.nextInt(2));
        AdapterUpdate u = genuineUpdate(i);
        u.setUpdateId(ghost);
        ChunkLayout layout = SPEC.layout();
        byte[][] data =
                new ErrorFeedback((int) layout.totalElements())
                        .encode(layout.flatten(u.getTensors()), layout, enc);
        int c = rnd.nextInt(data.length);
        byte[] b = data[c];
        int n = layout.chunkLength(c);
        switch (rnd.nextInt(enc.dtype() == DType.NF4 && n % 2 == 1 ? 7 : 6)) {
            case 0 -> setScale(b, Float.NaN);
            case 1 -> setScale(b, rnd.nextBoolean() ? -1f : Float.POSITIVE_INFINITY);
            case 2 -> setScale(b, 0f); // with codes that are not 0
            case 3 -> b[0] = (byte) 128; // block size 128, the federation's is 64
            case 4 -> b = java.util.Arrays.copyOf(b, b.length + (rnd.nextBoolean() ? 1 : -1));
            case 5 -> {
                if (enc.dtype() == DType.INT8) {
                    b[BlockQuantization.codesOffset(n, 64) + rnd.nextInt(n)] = -128;
                } else {
                    b = java.util.Arrays.copyOf(b, b.length - 2); // too short
                }
            }
            default -> b[b.length - 1] |= (byte) 0x10; // NF4's padding nibble
        }
        data[c] = b;
        UpdateChunking.Chunked bad = UpdateChunking.chunked(u, layout, enc.dtype(), data);
        UpdateSigning.sign(bad.manifest(), SITES.keyId("site-1"), key);
        List<Sent> out = new ArrayList<>();
        // its own copies: never dead-lettered by themselves
        bad.chunks().forEach(ch -> out.add(genuine(encode(ch))));
        out.add(own(AvroCodec.UPDATE_MANIFEST.encode(bad.manifest()), RejectReason.BAD_ENCODING));
        return out;
    }

    private static void setScale(byte[] b, float scale) {
        int bits = Float.floatToRawIntBits(scale);
        for (int k = 0; k < 4; k++) {
            b[BlockQuantization.HEADER_BYTES + k] = (byte) (bits >>> (8 * k));
        }
    }

    /** A record sent after {@code u}'s manifest, when the update has been accepted. */
    private static Sent afterAcceptance(Update u, SplittableRandom rnd) {
        UpdateChunk chunk = copy(u.chunks().get(rnd.nextInt(u.chunks().size())));
        switch (rnd.nextInt(3)) {
            case 0 -> {
                return own(encode(chunk), RejectReason.DUPLICATE_UPDATE); // a late resend
            }
            case 1 -> {
                byte[] data = bytes(chunk.getData());
                data[rnd.nextInt(data.length)] ^= 0x40;
                chunk.setData(ByteBuffer.wrap(data));
                // a late bogus copy: DUPLICATE_UPDATE, or the problem validation finds in it
                // (NON_FINITE, VALUE_OUT_OF_BOUNDS) if the flip made a value absurd
                return own(encode(chunk), null);
            }
            default -> {
                return own(
                        AvroCodec.UPDATE_MANIFEST.encode(u.manifest()),
                        RejectReason.DUPLICATE_UPDATE);
            }
        }
    }

    /** A well-formed digest that is no genuine chunk's. */
    private static final String SPEC_DIGEST_OF_ZEROS = "0".repeat(64);
}
