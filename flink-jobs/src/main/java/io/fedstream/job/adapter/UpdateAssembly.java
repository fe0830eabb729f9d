package io.fedstream.job.adapter;

import io.fedstream.aggregation.round.RoundRules;
import io.fedstream.job.Decision;
import io.fedstream.job.RoundState;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.avro.RejectReason;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.streaming.api.TimerService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The assembly of chunked updates for the {@link RoundCoordinator}: per federation, the updates it
 * has seen part of but not decided ({@link RoundState.Pending}), the receipts of their chunks
 * ({@link RoundState.Slot}) and their manifests' chunk digests, in the coordinator's keyed state
 * (the state handles are the coordinator's, so the state names and types are unchanged). An update
 * is complete when its manifest and, for every chunk, a copy whose digest is the manifest's are in;
 * copies that do not match never count against it (chunks are unsigned, so a bogus copy must not be
 * able to veto an update). When an update is decided, every data copy of its chunks is covered by
 * exactly one decision, and every chunk record that does not end up in a version is dead-lettered
 * exactly once, with its own coordinates (see {@link RoundCoordinator}).
 */
final class UpdateAssembly {
    private static final Logger LOG = LoggerFactory.getLogger(UpdateAssembly.class);

    /** Where the assembly's decisions and rejections go (the coordinator's outputs). */
    interface Outputs {
        /** A decision to the chunk aggregators (here: drops of buffered data copies). */
        void decide(Decision d);

        /** A dead-letter record for the record at (partition, offset). */
        void reject(
                int partition,
                long offset,
                String federationId,
                String siteId,
                String updateId,
                RejectReason reason,
                String detail);
    }

    private final Map<String, ChunkLayout> layouts;
    private final long assemblyTimeoutMs;
    private final MapState<String, RoundState.Pending> pending;
    private final MapState<String, RoundState.Slot> slots;

    /** The manifest's digest of each chunk of a pending update, keyed like the slots. */
    private final MapState<String, String> digests;

    UpdateAssembly(
            Map<String, ChunkLayout> layouts,
            long assemblyTimeoutMs,
            MapState<String, RoundState.Pending> pending,
            MapState<String, RoundState.Slot> slots,
            MapState<String, String> digests) {
        this.layouts = layouts;
        this.assemblyTimeoutMs = assemblyTimeoutMs;
        this.pending = pending;
        this.slots = slots;
        this.digests = digests;
    }

    /**
     * Records one event of an update not accepted before: its manifest or the receipt of one of its
     * chunks. A first event starts the update's assembly deadline ({@code assemblyTimeout} from
     * now). Returns the pending update, or null if the event was a second manifest (rejected as
     * {@code DUPLICATE_UPDATE}).
     */
    RoundState.Pending receive(UpdateEvent e, String key, long now, TimerService timers, Outputs o)
            throws Exception {
        String id = e.updateId;
        RoundState.Pending p = pending.get(key);
        if (p == null) {
            p = new RoundState.Pending();
            p.updateId = id;
            p.siteId = e.siteId;
            p.sourcePartition = e.sourcePartition;
            p.sourceOffset = e.sourceOffset;
            p.deadlineMs = now + assemblyTimeoutMs;
            timers.registerProcessingTimeTimer(p.deadlineMs);
        }
        if (e.type == UpdateEvent.HEADER) {
            if (p.hasHeader) {
                o.reject(
                        e.sourcePartition,
                        e.sourceOffset,
                        e.federationId,
                        e.siteId,
                        id,
                        RejectReason.DUPLICATE_UPDATE,
                        "a second manifest for update id " + id + " of site " + e.siteId);
                return null;
            }
            p.hasHeader = true;
            p.baseVersion = e.baseVersion;
            p.numExamples = e.numExamples;
            p.sourcePartition = e.sourcePartition;
            p.sourceOffset = e.sourceOffset;
            int n = layouts.get(e.federationId).chunkCount();
            for (int c = 0; c < n; c++) {
                digests.put(slotKey(key, c), e.chunkSha256[c]);
                RoundState.Slot slot = slots.get(slotKey(key, c));
                if (slot != null && slot.has(e.chunkSha256[c])) {
                    p.matched++;
                }
            }
        } else {
            // Copies that do not match the manifest are kept aside, never fatal: chunks are not
            // signed, so a hostile sender could otherwise veto any update by sending a bogus chunk
            // with its id. When the update is decided they are dropped and dead-lettered, each
            // with its own coordinates (rejectStrays).
            String slotKey = slotKey(key, e.chunkIndex);
            RoundState.Slot slot = slots.get(slotKey);
            if (slot == null) {
                slot = new RoundState.Slot();
            }
            String expected = p.hasHeader ? digests.get(slotKey) : null;
            boolean had = expected != null && slot.has(expected);
            if (e.problem != null) {
                if (p.problem == null) {
                    p.problem = e.problem;
                    p.problemDetail = e.problemDetail;
                }
            } else {
                slot.add(e.sha256, e.sumSquares);
            }
            if (e.hasData) {
                slot.copies++;
            }
            slot.addCopy(
                    e.sha256,
                    e.siteId,
                    e.problem,
                    e.problemDetail,
                    e.sourcePartition,
                    e.sourceOffset,
                    e.whole);
            slots.put(slotKey, slot);
            if (expected != null && !had && slot.has(expected)) {
                p.matched++;
            }
        }
        pending.put(key, p);
        return p;
    }

    /**
     * A record of an update that was already accepted: a manifest is refused as {@code duplicate}
     * (the round rules' refusal); a data copy is surplus, dropped and, unless it came inside a
     * whole record (dead-lettered once, by its header), dead-lettered as {@code DUPLICATE_UPDATE};
     * a copy validation found a problem in is dead-lettered with that problem.
     */
    void replayed(UpdateEvent e, RoundRules.Admission.Refused duplicate, Outputs o) {
        String id = e.updateId;
        // a replay of an accepted update: its data copies are surplus
        if (e.type == UpdateEvent.HEADER) {
            reject(e, duplicate.reason(), duplicate.detail(), o);
        } else if (e.hasData) {
            o.decide(drop(e.federationId, e.chunkIndex, e.siteId, id, 1));
            if (!e.whole) { // a whole record is dead-lettered once, by its header
                reject(
                        e,
                        RejectReason.DUPLICATE_UPDATE,
                        "chunk "
                                + e.chunkIndex
                                + " of update "
                                + id
                                + " of site "
                                + e.siteId
                                + ", which was already accepted: a replayed or late copy",
                        o);
            }
        } else {
            reject(e, RejectReason.valueOf(e.problem), e.problemDetail, o);
        }
    }

    private static void reject(UpdateEvent e, RejectReason reason, String detail, Outputs o) {
        o.reject(
                e.sourcePartition,
                e.sourceOffset,
                e.federationId,
                e.siteId,
                e.updateId,
                reason,
                detail);
    }

    /** Whether the update's manifest and a matching copy of every chunk are in. */
    boolean complete(String federationId, RoundState.Pending p) {
        return p.hasHeader && p.matched >= layouts.get(federationId).chunkCount();
    }

    /** The manifest's digest of every chunk of a pending update with a manifest. */
    String[] expected(String federationId, RoundState.Pending p) throws Exception {
        int n = layouts.get(federationId).chunkCount();
        String[] expected = new String[n];
        for (int c = 0; c < n; c++) {
            expected[c] = digests.get(slotKey(key(p), c));
        }
        return expected;
    }

    /** The receipts of every chunk of a pending update. */
    RoundState.Slot[] slots(String federationId, RoundState.Pending p) throws Exception {
        int n = layouts.get(federationId).chunkCount();
        RoundState.Slot[] all = new RoundState.Slot[n];
        for (int c = 0; c < n; c++) {
            all[c] = slots.get(slotKey(key(p), c));
        }
        return all;
    }

    /**
     * An accepted update: dead-letters the copies of its chunks that are not its own, forgets it.
     */
    void accepted(String federationId, RoundState.Pending p, String[] expected, Outputs o)
            throws Exception {
        rejectStrays(federationId, p, expected, null, o);
        forget(key(p), expected.length);
    }

    /**
     * Rejects a pending update (one rejection at its manifest's, or first record's, coordinates),
     * drops every data copy of its chunks sent so far, dead-letters the copies that are not its
     * own, and forgets it.
     */
    void reject(
            String federationId,
            RoundState.Pending p,
            RejectReason reason,
            String detail,
            Outputs o)
            throws Exception {
        int n = layouts.get(federationId).chunkCount();
        for (int c = 0; c < n; c++) {
            RoundState.Slot slot = slots.get(slotKey(key(p), c));
            if (slot != null && slot.copies > 0) {
                o.decide(drop(federationId, c, p.siteId, p.updateId, slot.copies));
            }
        }
        o.reject(
                p.sourcePartition,
                p.sourceOffset,
                federationId,
                p.siteId,
                p.updateId,
                reason,
                detail);
        if (p.hasHeader) {
            rejectStrays(federationId, p, expected(federationId, p), reason, o);
        }
        forget(key(p), n);
    }

    /**
     * Rejects every update still incomplete at {@code timestamp}, {@code assemblyTimeout} after its
     * first record: with the problem validation found in one of its chunks (e.g. {@code
     * NON_FINITE}), {@code CORRUPT_CHUNK} if copies arrived that do not match its manifest, else
     * {@code MISSING_CHUNK}. Returns the rejected updates.
     */
    List<RoundState.Pending> expire(String federationId, long timestamp, Outputs o)
            throws Exception {
        List<RoundState.Pending> expired = new ArrayList<>();
        for (RoundState.Pending p : pending.values()) {
            if (p.deadlineMs <= timestamp) {
                expired.add(p);
            }
        }
        List<RoundState.Pending> expiredOut = new ArrayList<>();
        int n = layouts.get(federationId).chunkCount();
        for (RoundState.Pending p : expired) {
            int received = 0;
            boolean mismatched = false;
            for (int c = 0; c < n; c++) {
                RoundState.Slot slot = slots.get(slotKey(key(p), c));
                if (slot != null && slot.digests != null && slot.digests.length > 0) {
                    received++;
                    mismatched |= p.hasHeader && !slot.has(digests.get(slotKey(key(p), c)));
                }
            }
            RejectReason reason;
            String detail;
            if (p.problem != null) {
                reason = RejectReason.valueOf(p.problem);
                detail = p.problemDetail + "; no usable copy of every chunk";
            } else if (mismatched) {
                reason = RejectReason.CORRUPT_CHUNK;
                detail = "chunks that do not match the digests in the update's manifest";
            } else {
                reason = RejectReason.MISSING_CHUNK;
                detail = "";
            }
            reject(
                    federationId,
                    p,
                    reason,
                    (detail.isEmpty() ? "" : detail + "; ")
                            + "incomplete after "
                            + assemblyTimeoutMs
                            + " ms: "
                            + (p.hasHeader
                                    ? p.matched + " of " + n + " chunks match"
                                    : received + " of " + n + " chunks, no manifest"),
                    o);
            expiredOut.add(p);
        }
        return expiredOut;
    }

    /**
     * State restored from a job version that identified updates by their id alone keys pending
     * updates and their chunk slots by the bare id: re-key them by (site, update id), the site
     * being the one the update's first record (or its manifest) named. Ids accepted before stay in
     * the seen set as bare ids, which still catch replays until pruned.
     */
    void rekeyLegacy(String federationId) throws Exception {
        int n = layouts.get(federationId).chunkCount();
        List<Map.Entry<String, RoundState.Pending>> legacy = new ArrayList<>();
        for (Map.Entry<String, RoundState.Pending> entry : pending.entries()) {
            if (UpdateKey.isLegacy(entry.getKey())) {
                legacy.add(Map.entry(entry.getKey(), entry.getValue()));
            }
        }
        for (Map.Entry<String, RoundState.Pending> entry : legacy) {
            String bare = entry.getKey();
            RoundState.Pending p = entry.getValue();
            String key = key(p);
            for (int c = 0; c < n; c++) {
                RoundState.Slot slot = slots.get(slotKey(bare, c));
                if (slot != null) {
                    slots.remove(slotKey(bare, c));
                    slots.put(slotKey(key, c), slot);
                }
                String digest = digests.get(slotKey(bare, c));
                if (digest != null) {
                    digests.remove(slotKey(bare, c));
                    digests.put(slotKey(key, c), digest);
                }
            }
            pending.remove(bare);
            pending.put(key, p);
        }
        if (!legacy.isEmpty()) {
            LOG.info(
                    "federation {}: re-keyed {} pending updates by site and update id",
                    federationId,
                    legacy.size());
        }
    }

    /**
     * Dead-letters, each with its own source coordinates, every copy of a decided update's chunks
     * that is not the update's own: per chunk index the update owns one copy whose digest is its
     * manifest's (the one aggregated if it was accepted); every other copy is surplus ({@code
     * DUPLICATE_UPDATE}, an identical copy) or does not match the signed manifest ({@code
     * CORRUPT_CHUNK}, a different digest or a copy validation could not use). Copies that came
     * inside a whole (legacy) update record are left out: that record is accounted for by its
     * header.
     *
     * @param rejectedFor null if the update was accepted, else why it was rejected
     */
    private void rejectStrays(
            String federationId,
            RoundState.Pending p,
            String[] expected,
            RejectReason rejectedFor,
            Outputs o)
            throws Exception {
        String fate =
                rejectedFor == null
                        ? "the update was accepted with the matching copy"
                        : "the update was rejected: " + rejectedFor;
        for (int c = 0; c < expected.length; c++) {
            RoundState.Slot slot = slots.get(slotKey(key(p), c));
            if (slot == null) {
                continue;
            }
            int own = ownCopy(slot, expected[c], p);
            for (int i = 0; i < slot.copyCount(); i++) {
                if (i == own || slot.copyWhole[i]) {
                    continue;
                }
                String digest = slot.copyDigests[i];
                RejectReason reason;
                String detail;
                if (!digest.isEmpty() && digest.equals(expected[c])) {
                    reason = RejectReason.DUPLICATE_UPDATE;
                    detail =
                            "chunk "
                                    + c
                                    + " of update "
                                    + p.updateId
                                    + ": a surplus copy, identical to the update's own; "
                                    + fate;
                } else {
                    reason = RejectReason.CORRUPT_CHUNK;
                    String problem =
                            slot.copyProblems[i].isEmpty()
                                    ? ""
                                    : slot.copyProblemDetails[i]
                                            + " ("
                                            + slot.copyProblems[i]
                                            + ")";
                    String mismatch =
                            digest.isEmpty()
                                    ? problem + ", so it cannot match its signed manifest"
                                    : (problem.isEmpty() ? "" : problem + "; ")
                                            + "digest "
                                            + abbreviate(digest)
                                            + " does not match its signed manifest's "
                                            + abbreviate(expected[c]);
                    detail =
                            "chunk "
                                    + c
                                    + " of update "
                                    + p.updateId
                                    + ": "
                                    + mismatch
                                    + "; "
                                    + fate;
                }
                o.reject(
                        slot.copyPartitions[i],
                        slot.copyOffsets[i],
                        federationId,
                        slot.copySites[i],
                        p.updateId,
                        reason,
                        detail);
            }
        }
    }

    /**
     * The update's own copy of a chunk: one whose digest is the manifest's, preferably one from the
     * manifest's own (whole) record, else the first that is not part of a whole record; -1 if none.
     */
    private static int ownCopy(RoundState.Slot slot, String expected, RoundState.Pending p) {
        int first = -1;
        int firstSeparate = -1;
        for (int i = 0; i < slot.copyCount(); i++) {
            if (!slot.copyDigests[i].equals(expected)) {
                continue;
            }
            if (slot.copyWhole[i]
                    && slot.copyPartitions[i] == p.sourcePartition
                    && slot.copyOffsets[i] == p.sourceOffset) {
                return i;
            }
            if (first < 0) {
                first = i;
            }
            if (firstSeparate < 0 && !slot.copyWhole[i]) {
                firstSeparate = i;
            }
        }
        return firstSeparate >= 0 ? firstSeparate : first;
    }

    private static String abbreviate(String digest) {
        return digest.length() > 16 ? digest.substring(0, 16) + "…" : digest;
    }

    /** The identity of a pending update: (site, update id), see {@link UpdateKey}. */
    static String key(RoundState.Pending p) {
        return UpdateKey.of(p.siteId, p.updateId);
    }

    /** The state key of one chunk of an update ({@link UpdateKey}). */
    private static String slotKey(String key, int chunk) {
        return key + "\u0000" + chunk;
    }

    private void forget(String key, int chunks) throws Exception {
        for (int c = 0; c < chunks; c++) {
            slots.remove(slotKey(key, c));
            digests.remove(slotKey(key, c));
        }
        pending.remove(key);
    }

    /** A drop of {@code copies} buffered data copies of one chunk of an update. */
    static Decision drop(
            String federationId, int chunk, String siteId, String updateId, int copies) {
        Decision d = new Decision();
        d.type = Decision.DROP;
        d.federationId = federationId;
        d.chunkIndex = chunk;
        d.version = -1;
        d.siteId = siteId;
        d.updateId = updateId;
        d.count = copies;
        return d;
    }
}
