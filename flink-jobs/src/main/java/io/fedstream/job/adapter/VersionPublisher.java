package io.fedstream.job.adapter;

import io.fedstream.job.OutRecord;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Manifest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Publishes a version's manifest (a {@link GlobalModel} record without inline tensors) once the
 * digest of every one of its chunks is in, with the chunk digests and the version digest over them,
 * keyed by federation id. Versions are published in order: a version whose chunks finished before
 * its parent's waits for it.
 */
public class VersionPublisher
        extends KeyedCoProcessFunction<String, VersionInfo, ChunkDigest, OutRecord> {
    private static final long serialVersionUID = 1L;

    private final Map<String, FederationSpec> federations;

    private transient Map<String, ChunkLayout> layouts;
    private transient MapState<Long, byte[]> manifests;
    private transient MapState<String, String> digests;
    private transient MapState<Long, Integer> counts;
    private transient ValueState<Long> lastPublished;

    public VersionPublisher(Map<String, FederationSpec> federations) {
        this.federations = Map.copyOf(federations);
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        layouts = new HashMap<>();
        federations.forEach((id, spec) -> layouts.put(id, spec.layout()));
        var rc = getRuntimeContext();
        manifests =
                rc.getMapState(
                        new MapStateDescriptor<>(
                                "manifests", Types.LONG, TypeInformation.of(byte[].class)));
        digests =
                rc.getMapState(
                        new MapStateDescriptor<>("chunk-digests", Types.STRING, Types.STRING));
        counts = rc.getMapState(new MapStateDescriptor<>("digest-counts", Types.LONG, Types.INT));
        lastPublished = rc.getState(new ValueStateDescriptor<>("last-published", Types.LONG));
    }

    @Override
    public void processElement1(VersionInfo info, Context ctx, Collector<OutRecord> out)
            throws Exception {
        if (info.baseline) {
            lastPublished.update(info.version);
        } else {
            manifests.put(info.version, info.manifest);
        }
        publishReady(info.federationId, out);
    }

    @Override
    public void processElement2(ChunkDigest d, Context ctx, Collector<OutRecord> out)
            throws Exception {
        String key = d.version + "#" + d.chunkIndex;
        if (!digests.contains(key)) {
            digests.put(key, d.sha256);
            Integer n = counts.get(d.version);
            counts.put(d.version, n == null ? 1 : n + 1);
        }
        publishReady(d.federationId, out);
    }

    private void publishReady(String federationId, Collector<OutRecord> out) throws Exception {
        ChunkLayout layout = layouts.get(federationId);
        while (true) {
            Long last = lastPublished.value();
            long next;
            if (last != null) {
                next = last + 1;
            } else {
                Long first = null;
                for (Long v : manifests.keys()) {
                    first = first == null || v < first ? v : first;
                }
                if (first == null) {
                    return;
                }
                next = first;
            }
            byte[] encoded = manifests.get(next);
            Integer n = counts.get(next);
            if (encoded == null || n == null || n < layout.chunkCount()) {
                return;
            }
            List<String> chunkDigests = new ArrayList<>(layout.chunkCount());
            for (int c = 0; c < layout.chunkCount(); c++) {
                String key = next + "#" + c;
                chunkDigests.add(digests.get(key));
                digests.remove(key);
            }
            GlobalModel g = AvroCodec.GLOBAL_MODEL.decode(encoded);
            g.setChunkSha256(chunkDigests);
            g.setManifest(
                    Manifest.newBuilder(g.getManifest())
                            .setTensorsSha256(layout.versionDigest(chunkDigests))
                            .build());
            out.collect(new OutRecord(federationId, AvroCodec.GLOBAL_MODEL.encode(g)));
            manifests.remove(next);
            counts.remove(next);
            lastPublished.update(next);
        }
    }
}
