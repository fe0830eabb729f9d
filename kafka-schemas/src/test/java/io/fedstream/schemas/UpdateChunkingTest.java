package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.nio.ByteBuffer;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpdateChunkingTest {
    private final FederationSpec spec =
            new FederationSpec(
                    "f",
                    3,
                    List.of(TensorSpec.normal("a", 1, 3, 7), TensorSpec.normal("b", 1, 11)),
                    5);

    private AdapterUpdate update() {
        return AdapterUpdate.newBuilder()
                .setUpdateId("s1/v0")
                .setFederationId("f")
                .setSiteId("s1")
                .setBaseVersion(0)
                .setNumExamples(12)
                .setTensors(TensorCodec.fromMap(spec, spec.initialValues()))
                .setCreatedAtMs(Instant.ofEpochMilli(5))
                .build();
    }

    @Test
    void splitsAnUpdateIntoChunksAndAManifestAndJoinsThemBack() {
        AdapterUpdate u = update();

        UpdateChunking.Chunked chunked = UpdateChunking.split(u, spec.layout());
        Map<Integer, UpdateChunk> byIndex = new HashMap<>();
        for (UpdateChunk c : chunked.chunks()) {
            UpdateChunk wire = AvroCodec.UPDATE_CHUNK.decode(AvroCodec.UPDATE_CHUNK.encode(c));
            byIndex.put(wire.getChunkIndex(), wire);
        }
        UpdateManifest m =
                AvroCodec.UPDATE_MANIFEST.decode(
                        AvroCodec.UPDATE_MANIFEST.encode(chunked.manifest()));

        assertThat(chunked.chunks()).hasSize(7); // 32 elements, 5 per chunk
        assertThat(m.getChunkSha256()).hasSize(7).doesNotHaveDuplicates();
        AdapterUpdate back = UpdateChunking.join(m, byIndex);
        assertThat(back.getTensors()).isEqualTo(u.getTensors());
        assertThat(back.getNumExamples()).isEqualTo(12);
        byIndex.remove(3);
        assertThat(UpdateChunking.join(m, byIndex)).isNull();
    }

    @Test
    void joinRefusesAChunkThatDoesNotMatchItsDigest() {
        UpdateChunking.Chunked chunked = UpdateChunking.split(update(), spec.layout());
        Map<Integer, UpdateChunk> byIndex = new HashMap<>();
        chunked.chunks().forEach(c -> byIndex.put(c.getChunkIndex(), c));
        byte[] data = new byte[20];
        byIndex.get(2).setData(ByteBuffer.wrap(data));

        assertThatThrownBy(() -> UpdateChunking.join(chunked.manifest(), byIndex))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theManifestSignatureCoversIdsWeightAndEveryChunkDigest() throws Exception {
        KeyPair keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        UpdateManifest m = UpdateChunking.split(update(), spec.layout()).manifest();
        UpdateSigning.sign(m, "k1", keys.getPrivate());
        UpdateManifest wire = AvroCodec.UPDATE_MANIFEST.decode(AvroCodec.UPDATE_MANIFEST.encode(m));

        UpdateManifest reweighted = UpdateManifest.newBuilder(wire).setNumExamples(1000).build();
        UpdateManifest swapped = UpdateManifest.newBuilder(wire).build();
        swapped.setChunkSha256(
                new java.util.ArrayList<>(wire.getChunkSha256()) {
                    {
                        set(1, ChunkLayout.globalChunkSha256(new byte[1]));
                    }
                });
        UpdateManifest renamed = UpdateManifest.newBuilder(wire).setUpdateId("s1/v1").build();

        assertThat(UpdateSigning.verify(wire, keys.getPublic())).isTrue();
        assertThat(UpdateSigning.verify(reweighted, keys.getPublic())).isFalse();
        assertThat(UpdateSigning.verify(swapped, keys.getPublic())).isFalse();
        assertThat(UpdateSigning.verify(renamed, keys.getPublic())).isFalse();
        assertThat(
                        UpdateSigning.verify(
                                wire,
                                KeyPairGenerator.getInstance("Ed25519")
                                        .generateKeyPair()
                                        .getPublic()))
                .isFalse();
    }
}
