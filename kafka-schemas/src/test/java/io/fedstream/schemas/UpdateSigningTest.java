package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.avro.AdapterUpdate;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpdateSigningTest {
    private final KeyPair site = SiteKeys.generate();
    private final KeyPair other = SiteKeys.generate();

    private static AdapterUpdate update() {
        return AdapterUpdate.newBuilder()
                .setUpdateId("s1/v3")
                .setFederationId("f")
                .setSiteId("s1")
                .setBaseVersion(3)
                .setNumExamples(40)
                .setMetrics(Map.of("loss", 0.5))
                .setTensors(
                        List.of(
                                TensorCodec.float32(
                                        "a", new int[] {2, 2}, new float[] {1, 2, 3, 4})))
                .setCreatedAtMs(Instant.ofEpochMilli(5))
                .build();
    }

    private AdapterUpdate signed() {
        AdapterUpdate u = update();
        UpdateSigning.sign(u, "k1", site.getPrivate());
        return AvroCodec.ADAPTER_UPDATE.decode(
                AvroCodec.ADAPTER_UPDATE.encode(u)); // across the wire
    }

    @Test
    void aSignedUpdateVerifiesWithItsKeyOnly() {
        AdapterUpdate u = signed();

        assertThat(u.getSignature().getKeyId()).isEqualTo("k1");
        assertThat(UpdateSigning.verify(u, site.getPublic())).isTrue();
        assertThat(UpdateSigning.verify(u, other.getPublic())).isFalse();
        assertThat(UpdateSigning.verify(update(), site.getPublic())).as("unsigned").isFalse();
    }

    @Test
    void signingWithAKnownDigestIsSigningTheSameMessage() {
        AdapterUpdate u = update();
        byte[] digest = java.util.HexFormat.of().parseHex(TensorCodec.sha256(u.getTensors()));
        AdapterUpdate wrongDigest = update();

        UpdateSigning.sign(u, "k1", site.getPrivate(), digest);
        UpdateSigning.sign(wrongDigest, "k1", site.getPrivate(), new byte[32]);

        assertThat(UpdateSigning.message(u, digest)).isEqualTo(UpdateSigning.message(u));
        assertThat(UpdateSigning.verify(u, site.getPublic())).isTrue();
        assertThat(UpdateSigning.verify(wrongDigest, site.getPublic())).isFalse();
    }

    @Test
    void changingAnythingThatIsAggregatedBreaksTheSignature() {
        AdapterUpdate examples = signed();
        examples.setNumExamples(4000);
        AdapterUpdate base = signed();
        base.setBaseVersion(4);
        AdapterUpdate siteId = signed();
        siteId.setSiteId("s2");
        AdapterUpdate id = signed();
        id.setUpdateId("s1/v3#1");
        AdapterUpdate tensor = signed();
        ByteBuffer data = tensor.getTensors().get(0).getData();
        data.put(0, (byte) (data.get(0) ^ 1));

        for (AdapterUpdate u : List.of(examples, base, siteId, id, tensor)) {
            assertThat(UpdateSigning.verify(u, site.getPublic())).isFalse();
        }
    }

    @Test
    void metricsAreInformationalAndNotSigned() {
        AdapterUpdate u = signed();
        u.setMetrics(Map.of("loss", 9.0));

        assertThat(UpdateSigning.verify(u, site.getPublic())).isTrue();
    }

    @Test
    void theRegistryRoundTripsThroughJsonAndHoldsSeveralKeysPerSite(@TempDir Path dir) {
        SiteKeys keys =
                new SiteKeys(
                        Map.of(
                                "s1",
                                List.of(
                                        new SiteKeys.Entry("k1", SiteKeys.encode(site.getPublic())),
                                        new SiteKeys.Entry(
                                                "k2", SiteKeys.encode(other.getPublic())))));
        keys.write(dir.resolve("keys.json"));

        SiteKeys back = SiteKeys.read(dir.resolve("keys.json"));

        assertThat(back.knows("s1")).isTrue();
        assertThat(back.knows("s2")).isFalse();
        assertThat(back.key("s1", "k2")).contains(other.getPublic());
        assertThat(back.key("s1", "k3")).isEmpty();
        assertThat(SiteKeys.privateKey(SiteKeys.encode(site.getPrivate())))
                .isEqualTo(site.getPrivate());
    }

    @Test
    void aRecordWrittenWithTheV1SchemaIsReadByTheCurrentOneWithoutASignature() throws Exception {
        Schema v1 = AvroCodec.ADAPTER_UPDATE.history().get(0);
        assertThat(v1.getField("signature")).isNull();
        GenericRecord tensor =
                new GenericData.Record(v1.getField("tensors").schema().getElementType());
        tensor.put("name", "a");
        tensor.put("shape", List.of(1));
        tensor.put(
                "dtype",
                new GenericData.EnumSymbol(
                        tensor.getSchema().getField("dtype").schema(), "FLOAT32"));
        tensor.put("data", ByteBuffer.wrap(new byte[4]));
        GenericRecord old = new GenericData.Record(v1);
        old.put("update_id", "u");
        old.put("federation_id", "f");
        old.put("site_id", "s");
        old.put("base_version", 1L);
        old.put("num_examples", 2L);
        old.put("metrics", Map.of());
        old.put("tensors", List.of(tensor));
        old.put("created_at_ms", 7L);
        ByteBuffer bytes =
                new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old);
        byte[] wire = new byte[bytes.remaining()];
        bytes.get(wire);

        AdapterUpdate u = AvroCodec.ADAPTER_UPDATE.decode(wire);

        assertThat(u.getUpdateId()).isEqualTo("u");
        assertThat(u.getBaseVersion()).isEqualTo(1);
        assertThat(u.getSignature()).isNull();
    }
}
