package io.fedstream.testing;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalChunk;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import io.fedstream.schemas.kafka.TopicReader;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks the job's delivery promises on the three topics as a whole, for every federation at once:
 *
 * <ul>
 *   <li>each global version follows the one before it on the log by exactly one, and names it as
 *       its parent ({@link Kind#BROKEN_CHAIN});
 *   <li>no version, and no chunk of a version, is published twice ({@link Kind#PUBLISHED_TWICE});
 *   <li>every published version is complete: a chunked version's manifest has, for every chunk, a
 *       published chunk with its digest, and its version digest is that of its chunk digests (an
 *       inline version's tensors match its digest); chunks of a version older than the newest
 *       manifest of its federation have a manifest ({@link Kind#INCOMPLETE_VERSION});
 *   <li>every update is accounted for exactly once. An <em>update record</em> of the updates topic
 *       (a chunked update's {@code UpdateManifest}, a whole {@code AdapterUpdate}, or bytes that
 *       are neither) is in one manifest if it was accepted, or once on the dead-letter topic if it
 *       was not ({@link Kind#IN_NO_MANIFEST}, {@link Kind#IN_TWO_MANIFESTS}, {@link
 *       Kind#DEAD_LETTERED_TWICE}, {@link Kind#COUNTED_AND_DEAD_LETTERED}); no update id is counted
 *       in two manifests. Manifests name only update records that are on the topic ({@link
 *       Kind#NOT_ON_TOPIC}) and hold the update they name ({@link Kind#WRONG_RECORD}: a chunk, an
 *       unreadable record, or another update id at that position).
 *   <li>a <em>chunk record</em> ({@code UpdateChunk}) is never counted itself and is dead-lettered
 *       at most once; its update must be accounted for: counted in some version, or named by a dead
 *       letter (a rejected attempt), or the chunk itself dead-lettered ({@link
 *       Kind#IN_NO_MANIFEST}). Chunks are unsigned: the job never lets a copy that does not match a
 *       manifest veto the update, and dead-letters such stray copies by themselves, so a stray copy
 *       under an accepted update's id is not a violation; nor is a leftover chunk of a rejected
 *       attempt whose update a resend got accepted.
 * </ul>
 *
 * <p>Unlike {@code io.fedstream.audit.FederationAudit} (flink-jobs) it does not recompute versions
 * from updates (it hashes the published chunks, nothing more), so it is cheap enough to run after
 * every fault-injection test. An update of a round that has not closed yet, or still waiting for
 * its chunks, is in no manifest, and the chunks of a version whose manifest is not out yet have
 * none: check a log whose input has been fully aggregated (or expect those as {@link
 * Kind#IN_NO_MANIFEST}). Chunks of versions newer than a federation's newest manifest are taken to
 * be in flight and are not flagged.
 */
public final class DeliveryCheck {
    private DeliveryCheck() {}

    private static final Comparator<Position> BY_POSITION =
            Comparator.comparingInt(Position::partition).thenComparingLong(Position::offset);

    /** What went wrong. */
    public enum Kind {
        BROKEN_CHAIN,
        PUBLISHED_TWICE,
        INCOMPLETE_VERSION,
        IN_NO_MANIFEST,
        IN_TWO_MANIFESTS,
        DEAD_LETTERED_TWICE,
        COUNTED_AND_DEAD_LETTERED,
        NOT_ON_TOPIC,
        WRONG_RECORD,
        UNDECODABLE
    }

    /** One broken promise. */
    public record Violation(Kind kind, String detail) {
        @Override
        public String toString() {
            return kind + ": " + detail;
        }
    }

    /** Where a record sits on the updates topic. */
    public record Position(int partition, long offset) {
        @Override
        public String toString() {
            return partition + "@" + offset;
        }
    }

    /** The form of a record on the updates topic. */
    public enum Form {
        /** A whole {@link AdapterUpdate}. */
        WHOLE,
        /** An {@link UpdateManifest}: the commit point of a chunked update. */
        MANIFEST,
        /** An {@link UpdateChunk}. */
        CHUNK,
        /** Bytes that decode as none of them (the job dead-letters them). */
        UNREADABLE
    }

    /**
     * A record of the updates topic: where it is, its form, and for a readable one the update it
     * belongs to: federation, site and update id (an update is the pair of site and update id, as
     * in the job; two sites may use the same update id).
     */
    public record UpdateRecord(
            Position position, Form form, String federationId, String siteId, String updateId) {

        /** Classifies the record value at {@code position}. */
        public static UpdateRecord of(Position position, byte[] value) {
            try {
                if (AvroCodec.UPDATE_CHUNK.accepts(value)) {
                    UpdateChunk c = AvroCodec.UPDATE_CHUNK.decode(value);
                    return new UpdateRecord(
                            position,
                            Form.CHUNK,
                            c.getFederationId(),
                            c.getSiteId(),
                            c.getUpdateId());
                }
                if (AvroCodec.UPDATE_MANIFEST.accepts(value)) {
                    UpdateManifest m = AvroCodec.UPDATE_MANIFEST.decode(value);
                    return new UpdateRecord(
                            position,
                            Form.MANIFEST,
                            m.getFederationId(),
                            m.getSiteId(),
                            m.getUpdateId());
                }
                AdapterUpdate u = AvroCodec.ADAPTER_UPDATE.decode(value);
                return new UpdateRecord(
                        position, Form.WHOLE, u.getFederationId(), u.getSiteId(), u.getUpdateId());
            } catch (AvroCodec.DecodeException e) {
                return new UpdateRecord(position, Form.UNREADABLE, null, null, null);
            }
        }

        /** Federation, site and update id, {@code f/site:u}. */
        String key() {
            return updateKey(federationId, siteId, updateId);
        }
    }

    /** How the check names an update: {@code federation/site:update}. */
    static String updateKey(String federationId, String siteId, String updateId) {
        return federationId + "/" + siteId + ":" + updateId;
    }

    /** A chunk on the global-models topic: which chunk of which version, and its digest. */
    public record PublishedChunk(String federationId, long version, int chunkIndex, String sha256) {
        public static PublishedChunk of(GlobalChunk c) {
            return new PublishedChunk(
                    c.getFederationId(),
                    c.getVersion(),
                    c.getChunkIndex(),
                    ChunkLayout.globalChunkSha256(c.getData()));
        }
    }

    /**
     * The verdict, with what was read.
     *
     * @param versions version manifests on the global-models topic
     * @param updateRecords update records (manifests, whole updates, unreadable records)
     * @param chunkRecords chunk records of the updates topic
     * @param deadLetters records of the dead-letter topic
     */
    public record Report(
            int versions,
            int updateRecords,
            int chunkRecords,
            int deadLetters,
            List<Violation> violations) {
        public boolean ok() {
            return violations.isEmpty();
        }
    }

    /**
     * @param versions every global model (version manifest) on the log, in log order (any
     *     federations)
     * @param chunks every global chunk on the log
     * @param updateRecords every record on the updates topic, decodable or not
     * @param deadLetters every dead letter, in log order; those of other source topics are ignored
     * @param updatesTopic the updates topic's name, as the dead letters record it
     */
    public static Report check(
            List<GlobalModel> versions,
            List<PublishedChunk> chunks,
            List<UpdateRecord> updateRecords,
            List<RejectedUpdate> deadLetters,
            String updatesTopic) {
        List<Violation> out = new ArrayList<>();
        checkChains(versions, out);
        checkVersionData(versions, chunks, out);

        Map<Position, UpdateRecord> byPosition = new HashMap<>();
        for (UpdateRecord r : updateRecords) {
            byPosition.put(r.position(), r);
        }
        Map<Position, List<String>> countedIn = new LinkedHashMap<>();
        Map<String, Map<Position, String>> idCountedIn = new HashMap<>();
        for (GlobalModel g : versions) {
            String where = g.getFederationId() + " v" + g.getVersion();
            for (Contribution c : g.getManifest().getContributions()) {
                Position p = new Position(c.getSourcePartition(), c.getSourceOffset());
                countedIn.computeIfAbsent(p, k -> new ArrayList<>()).add(where);
                String id = updateKey(g.getFederationId(), c.getSiteId(), c.getUpdateId());
                idCountedIn
                        .computeIfAbsent(id, k -> new TreeMap<>(BY_POSITION))
                        .putIfAbsent(p, where);
                UpdateRecord r = byPosition.get(p);
                if (r == null) {
                    continue; // NOT_ON_TOPIC, below
                }
                if (r.form() == Form.CHUNK || r.form() == Form.UNREADABLE) {
                    out.add(
                            new Violation(
                                    Kind.WRONG_RECORD,
                                    where
                                            + " counts update "
                                            + id
                                            + " at "
                                            + p
                                            + ", which is "
                                            + (r.form() == Form.CHUNK
                                                    ? "a chunk record of " + r.key()
                                                    : "an unreadable record")));
                } else if (!r.key().equals(id)) {
                    out.add(
                            new Violation(
                                    Kind.WRONG_RECORD,
                                    where
                                            + " counts update "
                                            + id
                                            + " at "
                                            + p
                                            + ", which holds "
                                            + r.key()));
                }
            }
        }
        Map<Position, Integer> rejected = new HashMap<>();
        Set<String> rejectedIds = new HashSet<>();
        for (RejectedUpdate r : deadLetters) {
            if (r.getSourceTopic().equals(updatesTopic)) {
                rejected.merge(
                        new Position(r.getSourcePartition(), r.getSourceOffset()), 1, Integer::sum);
                if (r.getFederationId() != null && r.getUpdateId() != null) {
                    rejectedIds.add(updateKey(r.getFederationId(), r.getSiteId(), r.getUpdateId()));
                }
            }
        }

        int chunkRecords = 0;
        for (UpdateRecord r :
                updateRecords.stream()
                        .sorted(Comparator.comparing(UpdateRecord::position, BY_POSITION))
                        .toList()) {
            Position p = r.position();
            List<String> in = countedIn.getOrDefault(p, List.of());
            int dead = rejected.getOrDefault(p, 0);
            if (dead > 1) {
                out.add(
                        new Violation(
                                Kind.DEAD_LETTERED_TWICE,
                                (r.form() == Form.CHUNK ? "chunk record " : "update record ")
                                        + p
                                        + " dead-lettered "
                                        + dead
                                        + " times"));
            }
            if (r.form() == Form.CHUNK) {
                chunkRecords++;
                // counted chunk positions are WRONG_RECORD, above
                if (dead == 0
                        && !idCountedIn.containsKey(r.key())
                        && !rejectedIds.contains(r.key())) {
                    out.add(
                            new Violation(
                                    Kind.IN_NO_MANIFEST,
                                    "chunk record "
                                            + p
                                            + " of update "
                                            + r.key()
                                            + ": the update is in no manifest and no dead letter"
                                            + " names it"));
                }
                continue;
            }
            if (in.isEmpty() && dead == 0) {
                out.add(
                        new Violation(
                                Kind.IN_NO_MANIFEST,
                                "update record "
                                        + p
                                        + " is in no manifest and was not dead-lettered"));
            }
            if (in.size() > 1) {
                out.add(new Violation(Kind.IN_TWO_MANIFESTS, "update record " + p + " in " + in));
            }
            if (!in.isEmpty() && dead > 0) {
                out.add(
                        new Violation(
                                Kind.COUNTED_AND_DEAD_LETTERED,
                                "update record " + p + " is in " + in + " and dead-lettered"));
            }
        }
        for (Map.Entry<Position, List<String>> e : countedIn.entrySet()) {
            if (!byPosition.containsKey(e.getKey())) {
                out.add(
                        new Violation(
                                Kind.NOT_ON_TOPIC,
                                e.getValue()
                                        + " name(s) update record "
                                        + e.getKey()
                                        + ", which is not on the topic"));
            }
        }
        for (Map.Entry<String, Map<Position, String>> e : idCountedIn.entrySet()) {
            if (e.getValue().size() > 1) { // the same position twice is reported above
                out.add(
                        new Violation(
                                Kind.IN_TWO_MANIFESTS,
                                "update " + e.getKey() + " counted in " + e.getValue()));
            }
        }
        return new Report(
                versions.size(),
                updateRecords.size() - chunkRecords,
                chunkRecords,
                deadLetters.size(),
                out);
    }

    private static void checkChains(List<GlobalModel> versions, List<Violation> out) {
        Map<String, Long> last = new HashMap<>();
        Map<String, Set<Long>> published = new HashMap<>();
        for (GlobalModel g : versions) {
            String fed = g.getFederationId();
            long v = g.getVersion();
            if (!published.computeIfAbsent(fed, k -> new HashSet<>()).add(v)) {
                out.add(
                        new Violation(
                                Kind.PUBLISHED_TWICE, fed + " v" + v + " is published again"));
                continue;
            }
            if (g.getParentVersion() != v - 1) {
                out.add(
                        new Violation(
                                Kind.BROKEN_CHAIN,
                                fed + " v" + v + " names parent v" + g.getParentVersion()));
            }
            Long previous = last.put(fed, v);
            if (previous != null && v != previous + 1) {
                out.add(
                        new Violation(
                                Kind.BROKEN_CHAIN,
                                fed + " v" + v + " follows v" + previous + " on the log"));
            }
        }
    }

    private record VersionKey(String federationId, long version) {
        @Override
        public String toString() {
            return federationId + " v" + version;
        }
    }

    /** Each chunk published once; every version's data complete and matching its digests. */
    private static void checkVersionData(
            List<GlobalModel> versions, List<PublishedChunk> chunks, List<Violation> out) {
        Map<VersionKey, Map<Integer, List<String>>> byVersion = new LinkedHashMap<>();
        for (PublishedChunk c : chunks) {
            byVersion
                    .computeIfAbsent(
                            new VersionKey(c.federationId(), c.version()), k -> new TreeMap<>())
                    .computeIfAbsent(c.chunkIndex(), i -> new ArrayList<>())
                    .add(c.sha256());
        }
        byVersion.forEach(
                (v, idx) ->
                        idx.forEach(
                                (i, copies) -> {
                                    if (copies.size() > 1) {
                                        out.add(
                                                new Violation(
                                                        Kind.PUBLISHED_TWICE,
                                                        "chunk "
                                                                + i
                                                                + " of "
                                                                + v
                                                                + " is published "
                                                                + copies.size()
                                                                + " times"));
                                    }
                                }));

        Map<VersionKey, GlobalModel> manifests = new LinkedHashMap<>();
        Map<String, Long> newest = new HashMap<>();
        for (GlobalModel g : versions) {
            manifests.putIfAbsent(new VersionKey(g.getFederationId(), g.getVersion()), g);
            newest.merge(g.getFederationId(), g.getVersion(), Math::max);
        }
        manifests.forEach(
                (v, g) -> {
                    String problem =
                            dataProblem(g, byVersion.getOrDefault(v, Map.of()), chunksOf(g));
                    if (problem != null) {
                        out.add(new Violation(Kind.INCOMPLETE_VERSION, v + ": " + problem));
                    }
                });
        byVersion.forEach(
                (v, idx) -> {
                    Long head = newest.get(v.federationId());
                    if (!manifests.containsKey(v) && head != null && v.version() <= head) {
                        out.add(
                                new Violation(
                                        Kind.INCOMPLETE_VERSION,
                                        v
                                                + ": "
                                                + idx.size()
                                                + " chunk(s) published, but no manifest, while v"
                                                + head
                                                + " has one"));
                    }
                });
    }

    private static int chunksOf(GlobalModel g) {
        return g.getChunkElements() > 0 ? g.getChunkSha256().size() : 0;
    }

    /** What is wrong with a version's data, or null. */
    private static String dataProblem(
            GlobalModel g, Map<Integer, List<String>> published, int named) {
        if (g.getChunkElements() <= 0) {
            if (!published.isEmpty()) {
                return "an inline version with " + published.size() + " published chunk(s)";
            }
            return TensorCodec.sha256(g.getTensors()).equals(g.getManifest().getTensorsSha256())
                    ? null
                    : "its inline tensors do not match its digest";
        }
        ChunkLayout layout;
        try {
            layout = ChunkLayout.of(g);
        } catch (RuntimeException e) {
            return "its layout is invalid: " + e.getMessage();
        }
        List<String> digests = g.getChunkSha256();
        if (named != layout.chunkCount()) {
            return "it names " + named + " chunk digests, its layout has " + layout.chunkCount();
        }
        List<Integer> missing = new ArrayList<>();
        List<Integer> mismatched = new ArrayList<>();
        for (int c = 0; c < named; c++) {
            List<String> copies = published.get(c);
            if (copies == null) {
                missing.add(c);
            } else if (!copies.contains(digests.get(c))) {
                mismatched.add(c);
            }
        }
        List<String> problems = new ArrayList<>();
        if (!missing.isEmpty()) {
            problems.add("chunk(s) " + missing + " not published");
        }
        if (!mismatched.isEmpty()) {
            problems.add("chunk(s) " + mismatched + " do not match the manifest's digests");
        }
        int beyond = (int) published.keySet().stream().filter(c -> c < 0 || c >= named).count();
        if (beyond > 0) {
            problems.add(beyond + " chunk index(es) outside its layout");
        }
        if (!layout.versionDigest(digests).equals(g.getManifest().getTensorsSha256())) {
            problems.add("its version digest is not that of its chunk digests");
        }
        return problems.isEmpty() ? null : String.join("; ", problems);
    }

    /** Reads the three topics from the beginning (read_committed) and checks them. */
    public static Report read(
            Properties client,
            String updatesTopic,
            String globalModelsTopic,
            String rejectedTopic) {
        AvroCodec.trustGeneratedClasses();
        List<GlobalModel> versions = new ArrayList<>();
        List<PublishedChunk> chunks = new ArrayList<>();
        List<Violation> undecodable = new ArrayList<>();
        TopicReader.readAll(
                client,
                globalModelsTopic,
                r -> {
                    try {
                        if (AvroCodec.GLOBAL_CHUNK.accepts(r.value())) {
                            chunks.add(PublishedChunk.of(AvroCodec.GLOBAL_CHUNK.decode(r.value())));
                        } else {
                            versions.add(AvroCodec.GLOBAL_MODEL.decode(r.value()));
                        }
                    } catch (AvroCodec.DecodeException e) {
                        undecodable.add(
                                new Violation(
                                        Kind.UNDECODABLE,
                                        globalModelsTopic
                                                + " "
                                                + r.partition()
                                                + "@"
                                                + r.offset()));
                    }
                });
        List<UpdateRecord> updates = new ArrayList<>();
        TopicReader.readAll(
                client,
                updatesTopic,
                r ->
                        updates.add(
                                UpdateRecord.of(
                                        new Position(r.partition(), r.offset()), r.value())));
        List<RejectedUpdate> dead = new ArrayList<>();
        TopicReader.readAll(
                client,
                rejectedTopic,
                r -> {
                    try {
                        dead.add(AvroCodec.REJECTED_UPDATE.decode(r.value()));
                    } catch (AvroCodec.DecodeException e) {
                        undecodable.add(
                                new Violation(
                                        Kind.UNDECODABLE,
                                        rejectedTopic + " " + r.partition() + "@" + r.offset()));
                    }
                });
        Report report = check(versions, chunks, updates, dead, updatesTopic);
        if (undecodable.isEmpty()) {
            return report;
        }
        List<Violation> all = new ArrayList<>(undecodable);
        all.addAll(report.violations());
        return new Report(
                report.versions(),
                report.updateRecords(),
                report.chunkRecords(),
                report.deadLetters(),
                all);
    }
}
