package io.fedstream.schemas;

import io.fedstream.schemas.avro.GlobalChunk;
import io.fedstream.schemas.avro.GlobalModel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Reassembles global versions from the global-models topic, which carries {@link GlobalModel}
 * records (a version's manifest) and {@link GlobalChunk} records (its data) in any order: the job
 * commits chunks and manifest from different sink subtasks, so a chunk may come after its manifest.
 *
 * <p>A version is complete when its manifest and, for every chunk, a chunk whose SHA-256 is the
 * manifest's digest are in, and the manifest's version digest is the digest of its layout and chunk
 * digests. It is then returned once, as a {@link GlobalModel} with its tensors inline (FLOAT32, in
 * layout order) and its manifest unchanged, so readers use it like a version of the inline form;
 * {@link #digest} recomputes its digest. Old inline records are verified (tensor digest) and
 * returned at once. Records that do not verify are reported in {@link #problems()} and never
 * returned. Not thread-safe.
 */
public final class GlobalModelAssembler {
    private record Key(String federationId, long version) {}

    private static final class Pending {
        GlobalModel manifest;
        final Map<Integer, List<ByteBuffer>> chunks = new HashMap<>();
    }

    private final Map<Key, Pending> pending = new HashMap<>();
    private final Set<Key> done = new HashSet<>();
    private final List<String> problems = new ArrayList<>();

    /**
     * Accepts one record value of the global-models topic.
     *
     * @return the versions this record completed (usually none or one)
     * @throws AvroCodec.DecodeException if the bytes are neither a GlobalModel nor a GlobalChunk
     */
    public List<GlobalModel> accept(byte[] value) {
        if (AvroCodec.GLOBAL_CHUNK.accepts(value)) {
            return accept(AvroCodec.GLOBAL_CHUNK.decode(value));
        }
        return accept(AvroCodec.GLOBAL_MODEL.decode(value));
    }

    public List<GlobalModel> accept(GlobalChunk c) {
        Key key = new Key(c.getFederationId(), c.getVersion());
        if (done.contains(key)) {
            return List.of();
        }
        Pending p = pending.computeIfAbsent(key, k -> new Pending());
        List<ByteBuffer> copies =
                p.chunks.computeIfAbsent(c.getChunkIndex(), i -> new ArrayList<>());
        if (copies.size() < 4) { // a few candidates per index: enough for duplicates
            copies.add(c.getData());
        }
        return tryComplete(key, p);
    }

    public List<GlobalModel> accept(GlobalModel g) {
        Key key = new Key(g.getFederationId(), g.getVersion());
        if (done.contains(key)) {
            return List.of();
        }
        if (g.getChunkElements() <= 0) {
            String digest = TensorCodec.sha256(g.getTensors());
            if (!digest.equals(g.getManifest().getTensorsSha256())) {
                problems.add(
                        "version "
                                + g.getVersion()
                                + " of "
                                + g.getFederationId()
                                + ": inline tensors do not match the manifest digest");
                return List.of();
            }
            done.add(key);
            pending.remove(key);
            return List.of(g);
        }
        Pending p = pending.computeIfAbsent(key, k -> new Pending());
        if (p.manifest == null) {
            p.manifest = g;
        }
        return tryComplete(key, p);
    }

    private List<GlobalModel> tryComplete(Key key, Pending p) {
        GlobalModel m = p.manifest;
        if (m == null) {
            return List.of();
        }
        ChunkLayout layout;
        try {
            layout = ChunkLayout.of(m);
        } catch (RuntimeException e) {
            return fail(key, "its layout is invalid: " + e.getMessage());
        }
        List<String> digests = m.getChunkSha256();
        if (digests.size() != layout.chunkCount()) {
            return fail(
                    key,
                    "it names "
                            + digests.size()
                            + " chunks, its layout has "
                            + layout.chunkCount());
        }
        if (p.chunks.size() < layout.chunkCount()) {
            return List.of();
        }
        ByteBuffer[] chosen = new ByteBuffer[layout.chunkCount()];
        for (int c = 0; c < chosen.length; c++) {
            List<ByteBuffer> copies = p.chunks.get(c);
            if (copies == null) {
                return List.of();
            }
            for (ByteBuffer b : copies) {
                if (b.remaining() == layout.chunkLength(c) * 4
                        && ChunkLayout.globalChunkSha256(b).equals(digests.get(c))) {
                    chosen[c] = b;
                    break;
                }
            }
            if (chosen[c] == null) {
                if (copies.size() >= 4) {
                    return fail(key, "chunk " + c + " does not match its digest");
                }
                return List.of(); // wait for another copy
            }
        }
        if (!layout.versionDigest(digests).equals(m.getManifest().getTensorsSha256())) {
            return fail(key, "the version digest is not that of its chunk digests");
        }
        float[] flat = new float[(int) layout.totalElements()];
        for (int c = 0; c < chosen.length; c++) {
            chosen[c]
                    .duplicate()
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer()
                    .get(flat, (int) layout.chunkStart(c), layout.chunkLength(c));
        }
        GlobalModel out = GlobalModel.newBuilder(m).setTensors(layout.tensors(flat)).build();
        pending.remove(key);
        done.add(key);
        return List.of(out);
    }

    private List<GlobalModel> fail(Key key, String why) {
        problems.add("version " + key.version() + " of " + key.federationId() + ": " + why);
        pending.remove(key);
        done.add(key);
        return List.of();
    }

    /** Drops incomplete versions of the federation older than {@code version}. */
    public void forgetBelow(String federationId, long version) {
        Iterator<Key> it = pending.keySet().iterator();
        while (it.hasNext()) {
            Key k = it.next();
            if (k.federationId().equals(federationId) && k.version() < version) {
                it.remove();
            }
        }
        done.removeIf(k -> k.federationId().equals(federationId) && k.version() < version - 1);
    }

    /** Versions seen but not yet complete. */
    public int pendingCount() {
        return pending.size();
    }

    /** Versions that did not verify, with the reason. */
    public List<String> problems() {
        return problems;
    }

    /**
     * The digest of a version with inline tensors as its manifest defines it: for a chunked version
     * ({@code chunk_elements > 0}) the version digest over the chunk digests recomputed from the
     * tensors, else {@link TensorCodec#sha256}.
     */
    public static String digest(GlobalModel g) {
        if (g.getChunkElements() <= 0) {
            return TensorCodec.sha256(g.getTensors());
        }
        ChunkLayout layout = ChunkLayout.of(g);
        float[] flat = layout.flatten(g.getTensors());
        List<String> digests = new ArrayList<>(layout.chunkCount());
        for (int c = 0; c < layout.chunkCount(); c++) {
            digests.add(ChunkLayout.globalChunkSha256(layout.float32Chunk(flat, c)));
        }
        return layout.versionDigest(digests);
    }

    /** The chunk digests of a flattened model, for building a manifest. */
    public static List<String> chunkDigests(ChunkLayout layout, float[] flat) {
        List<String> digests = new ArrayList<>(layout.chunkCount());
        for (int c = 0; c < layout.chunkCount(); c++) {
            digests.add(ChunkLayout.globalChunkSha256(layout.float32Chunk(flat, c)));
        }
        return Objects.requireNonNull(digests);
    }

    /** A version in its chunked form: the chunks and the manifest. */
    public record Chunked(List<GlobalChunk> chunks, GlobalModel manifest) {}

    /**
     * The chunked form of a version given inline (tensors in layout order): its chunks and its
     * manifest without tensors, with the layout, the chunk digests and the version digest.
     */
    public static Chunked chunk(GlobalModel inline, ChunkLayout layout) {
        float[] flat = layout.flatten(inline.getTensors());
        List<GlobalChunk> chunks = new ArrayList<>(layout.chunkCount());
        List<String> digests = new ArrayList<>(layout.chunkCount());
        for (int c = 0; c < layout.chunkCount(); c++) {
            byte[] data = layout.float32Chunk(flat, c);
            digests.add(ChunkLayout.globalChunkSha256(data));
            chunks.add(
                    GlobalChunk.newBuilder()
                            .setFederationId(inline.getFederationId())
                            .setVersion(inline.getVersion())
                            .setChunkIndex(c)
                            .setChunkCount(layout.chunkCount())
                            .setData(ByteBuffer.wrap(data))
                            .build());
        }
        GlobalModel manifest =
                GlobalModel.newBuilder(inline)
                        .setTensors(List.of())
                        .setChunkElements(layout.chunkElements())
                        .setLayout(layout.toAvro())
                        .setChunkSha256(digests)
                        .build();
        manifest.setManifest(
                io.fedstream.schemas.avro.Manifest.newBuilder(inline.getManifest())
                        .setTensorsSha256(layout.versionDigest(digests))
                        .build());
        return new Chunked(chunks, manifest);
    }
}
