package io.fedstream.testing;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Whole updates from the records of the updates topic, read in log order: a worker's chunks joined
 * at their manifest, with the manifest's signature (a chunked update's whole form does not exist on
 * the wire), and whole {@code AdapterUpdate} records as they are. For {@link TestTopics#readUntil}:
 * {@code readUntil(kafka, Topics.ADAPTER_UPDATES, new JoinedUpdates()::accept, u -> u.size() >=
 * n)}.
 *
 * <p>Fails (AssertionError) on a chunk that does not fit Kafka's default record limit and on a
 * manifest whose chunks did not all come before it.
 */
public final class JoinedUpdates {
    private final Map<String, Map<Integer, UpdateChunk>> chunks = new HashMap<>();
    private final List<UpdateManifest> manifests = new ArrayList<>();

    /**
     * The updates {@code value} completes: none for a chunk, one for a manifest or whole update.
     */
    public List<AdapterUpdate> accept(byte[] value) {
        if (AvroCodec.UPDATE_CHUNK.accepts(value)) {
            if (value.length >= 1 << 20) {
                throw new AssertionError(
                        "A chunk of " + value.length + " bytes exceeds Kafka's default limit");
            }
            UpdateChunk c = AvroCodec.UPDATE_CHUNK.decode(value);
            chunks.computeIfAbsent(c.getUpdateId(), k -> new HashMap<>()).put(c.getChunkIndex(), c);
            return List.of();
        }
        if (AvroCodec.UPDATE_MANIFEST.accepts(value)) {
            UpdateManifest m = AvroCodec.UPDATE_MANIFEST.decode(value);
            manifests.add(m);
            Map<Integer, UpdateChunk> parts = chunks.remove(m.getUpdateId());
            AdapterUpdate u = UpdateChunking.join(m, parts == null ? Map.of() : parts);
            if (u == null) {
                throw new AssertionError(
                        "Not every chunk of " + m.getUpdateId() + " precedes its manifest");
            }
            u.setSignature(m.getSignature());
            return List.of(u);
        }
        return List.of(AvroCodec.ADAPTER_UPDATE.decode(value));
    }

    /** The manifests read so far, in log order. */
    public List<UpdateManifest> manifests() {
        return List.copyOf(manifests);
    }
}
