package io.fedstream.audit;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
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
 *   <li>no version is published twice ({@link Kind#PUBLISHED_TWICE});
 *   <li>every record of the updates topic is accounted for exactly once: in one manifest if it was
 *       accepted, or once on the dead-letter topic if it was not ({@link Kind#IN_NO_MANIFEST},
 *       {@link Kind#IN_TWO_MANIFESTS}, {@link Kind#DEAD_LETTERED_TWICE}, {@link
 *       Kind#COUNTED_AND_DEAD_LETTERED}); manifests name only records that are on the topic ({@link
 *       Kind#NOT_ON_TOPIC}), and no update id is counted in two manifests.
 * </ul>
 *
 * <p>Unlike {@link FederationAudit} it does not recompute tensors, so it is cheap enough to run
 * after every fault-injection test. An update of a round that has not closed yet is in no manifest:
 * check a log whose input has been fully aggregated (or expect those as {@link
 * Kind#IN_NO_MANIFEST}).
 */
public final class DeliveryCheck {
    private DeliveryCheck() {}

    private static final Comparator<Position> BY_POSITION =
            Comparator.comparingInt(Position::partition).thenComparingLong(Position::offset);

    /** What went wrong. */
    public enum Kind {
        BROKEN_CHAIN,
        PUBLISHED_TWICE,
        IN_NO_MANIFEST,
        IN_TWO_MANIFESTS,
        DEAD_LETTERED_TWICE,
        COUNTED_AND_DEAD_LETTERED,
        NOT_ON_TOPIC,
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

    /** The verdict, with what was read. */
    public record Report(
            int versions, int updateRecords, int deadLetters, List<Violation> violations) {
        public boolean ok() {
            return violations.isEmpty();
        }
    }

    /**
     * @param versions every global model on the log, in log order (any federations)
     * @param updateRecords the position of every record on the updates topic, decodable or not
     * @param deadLetters every dead letter, in log order; those of other source topics are ignored
     * @param updatesTopic the updates topic's name, as the dead letters record it
     */
    public static Report check(
            List<GlobalModel> versions,
            Set<Position> updateRecords,
            List<RejectedUpdate> deadLetters,
            String updatesTopic) {
        List<Violation> out = new ArrayList<>();
        checkChains(versions, out);

        Map<Position, List<String>> countedIn = new LinkedHashMap<>();
        Map<String, Map<Position, String>> idCountedIn = new HashMap<>();
        for (GlobalModel g : versions) {
            String where = g.getFederationId() + " v" + g.getVersion();
            for (Contribution c : g.getManifest().getContributions()) {
                Position p = new Position(c.getSourcePartition(), c.getSourceOffset());
                countedIn.computeIfAbsent(p, k -> new ArrayList<>()).add(where);
                idCountedIn
                        .computeIfAbsent(
                                g.getFederationId() + "/" + c.getUpdateId(),
                                k -> new TreeMap<>(BY_POSITION))
                        .putIfAbsent(p, where);
            }
        }
        Map<Position, Integer> rejected = new HashMap<>();
        for (RejectedUpdate r : deadLetters) {
            if (r.getSourceTopic().equals(updatesTopic)) {
                rejected.merge(
                        new Position(r.getSourcePartition(), r.getSourceOffset()), 1, Integer::sum);
            }
        }

        for (Position p : updateRecords.stream().sorted(BY_POSITION).toList()) {
            List<String> in = countedIn.getOrDefault(p, List.of());
            int dead = rejected.getOrDefault(p, 0);
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
            if (dead > 1) {
                out.add(
                        new Violation(
                                Kind.DEAD_LETTERED_TWICE,
                                "update record " + p + " dead-lettered " + dead + " times"));
            }
            if (!in.isEmpty() && dead > 0) {
                out.add(
                        new Violation(
                                Kind.COUNTED_AND_DEAD_LETTERED,
                                "update record " + p + " is in " + in + " and dead-lettered"));
            }
        }
        for (Map.Entry<Position, List<String>> e : countedIn.entrySet()) {
            if (!updateRecords.contains(e.getKey())) {
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
                                "update id " + e.getKey() + " counted in " + e.getValue()));
            }
        }
        return new Report(versions.size(), updateRecords.size(), deadLetters.size(), out);
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

    /** Reads the three topics from the beginning (read_committed) and checks them. */
    public static Report read(
            Properties client,
            String updatesTopic,
            String globalModelsTopic,
            String rejectedTopic) {
        AvroCodec.trustGeneratedClasses();
        List<GlobalModel> versions = new ArrayList<>();
        List<Violation> undecodable = new ArrayList<>();
        TopicReader.readAll(
                client,
                globalModelsTopic,
                r -> {
                    try {
                        versions.add(AvroCodec.GLOBAL_MODEL.decode(r.value()));
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
        Set<Position> updates = new LinkedHashSet<>();
        TopicReader.readAll(
                client, updatesTopic, r -> updates.add(new Position(r.partition(), r.offset())));
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
        Report report = check(versions, updates, dead, updatesTopic);
        if (undecodable.isEmpty()) {
            return report;
        }
        List<Violation> all = new ArrayList<>(undecodable);
        all.addAll(report.violations());
        return new Report(report.versions(), report.updateRecords(), report.deadLetters(), all);
    }
}
