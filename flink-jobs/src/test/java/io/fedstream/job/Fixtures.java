package io.fedstream.job;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.job.adapter.ValidUpdate;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Tensor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Small federations and updates for the job's tests. */
final class Fixtures {
    private Fixtures() {}

    /** Federation "f": tensor a [2,3] (normal init) and b [2] (zeros). */
    static final FederationSpec SPEC =
            new FederationSpec(
                    "f", 7, List.of(TensorSpec.normal("a", 0.1, 2, 3), TensorSpec.zeros("b", 2)));

    static RoundPolicy policy(int quorum, int minUpdates, long maxStaleness) {
        return new RoundPolicy(
                quorum,
                Duration.ofSeconds(10),
                minUpdates,
                new StalenessFunction.Polynomial(0.5),
                maxStaleness,
                1.0);
    }

    /** A delta whose every element is {@code value}. */
    static float[][] constantDelta(float value) {
        float[][] d = new float[SPEC.tensors().size()][];
        for (int t = 0; t < d.length; t++) {
            d[t] = new float[SPEC.tensors().get(t).size()];
            java.util.Arrays.fill(d[t], value);
        }
        return d;
    }

    static ValidUpdate valid(String id, String site, long base, long examples, float[][] delta) {
        ValidUpdate u = new ValidUpdate();
        u.federationId = SPEC.id();
        u.updateId = id;
        u.siteId = site;
        u.baseVersion = base;
        u.numExamples = examples;
        u.sourcePartition = 0;
        u.sourceOffset = id.hashCode() & 0xffff;
        u.dtypes = new byte[delta.length];
        u.tensors = new byte[delta.length][];
        for (int t = 0; t < delta.length; t++) {
            u.dtypes[t] = (byte) LittleEndianFloats.Kind.FLOAT32.ordinal();
            u.tensors[t] = LittleEndianFloats.fromFloats(delta[t]);
        }
        return u;
    }

    static AdapterUpdate.Builder update(String id, long base, long examples, float[][] delta) {
        List<Tensor> tensors = new ArrayList<>();
        for (int t = 0; t < delta.length; t++) {
            TensorSpec ts = SPEC.tensors().get(t);
            tensors.add(TensorCodec.float32(ts.name(), ts.shape(), delta[t]));
        }
        return AdapterUpdate.newBuilder()
                .setUpdateId(id)
                .setFederationId(SPEC.id())
                .setSiteId("site-1")
                .setBaseVersion(base)
                .setNumExamples(examples)
                .setMetrics(Map.of("loss", 0.5))
                .setTensors(tensors)
                .setCreatedAtMs(Instant.ofEpochMilli(1_700_000_000_000L));
    }

    static RawRecord raw(byte[] value) {
        return new RawRecord(
                "adapter-updates", 0, 42, 0, SPEC.id().getBytes(StandardCharsets.UTF_8), value);
    }

    static RawRecord raw(AdapterUpdate u) {
        return raw(AvroCodec.ADAPTER_UPDATE.encode(u));
    }
}
