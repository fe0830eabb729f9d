package io.fedstream.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fixtures behave as the tests that use them assume. */
class FixturesTest {
    private static final FederationSpec SPEC =
            new FederationSpec(
                    "f",
                    3,
                    List.of(TensorSpec.normal("a", 1, 3, 7), TensorSpec.normal("b", 1, 11)),
                    5);

    @TempDir Path dir;

    private static AdapterUpdate update(String site) {
        return AdapterUpdate.newBuilder()
                .setUpdateId(site + "/v0")
                .setFederationId("f")
                .setSiteId(site)
                .setBaseVersion(0)
                .setNumExamples(12)
                .setTensors(TensorCodec.fromMap(SPEC, SPEC.initialValues()))
                .setCreatedAtMs(Instant.ofEpochMilli(5))
                .build();
    }

    @Test
    void joinedUpdatesJoinChunksAtTheirManifestKeepTheSignatureAndPassWholeUpdates() {
        SigningSites sites = SigningSites.generate("s1");
        AdapterUpdate u = update("s1");
        UpdateChunking.Chunked chunked = UpdateChunking.split(u, SPEC.layout());
        UpdateSigning.sign(chunked.manifest(), sites.keyId("s1"), sites.privateKey("s1"));
        JoinedUpdates joined = new JoinedUpdates();

        for (UpdateChunk c : chunked.chunks()) {
            assertThat(joined.accept(AvroCodec.UPDATE_CHUNK.encode(c))).isEmpty();
        }
        List<AdapterUpdate> out =
                joined.accept(AvroCodec.UPDATE_MANIFEST.encode(chunked.manifest()));
        List<AdapterUpdate> whole = joined.accept(AvroCodec.ADAPTER_UPDATE.encode(update("s2")));

        assertThat(out)
                .singleElement()
                .satisfies(
                        j -> {
                            assertThat(j.getTensors()).isEqualTo(u.getTensors());
                            assertThat(j.getSignature())
                                    .isEqualTo(chunked.manifest().getSignature());
                        });
        assertThat(joined.manifests()).hasSize(1);
        assertThat(whole).extracting(AdapterUpdate::getSiteId).containsExactly("s2");
    }

    @Test
    void joinedUpdatesFailOnAManifestWhoseChunksAreMissing() {
        UpdateChunking.Chunked chunked = UpdateChunking.split(update("s1"), SPEC.layout());
        JoinedUpdates joined = new JoinedUpdates();
        joined.accept(AvroCodec.UPDATE_CHUNK.encode(chunked.chunks().get(0)));

        assertThatThrownBy(
                        () -> joined.accept(AvroCodec.UPDATE_MANIFEST.encode(chunked.manifest())))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("s1/v0");
    }

    @Test
    void signingSitesWriteARegistryThatVerifiesEachSitesSignaturesOnly() {
        SigningSites sites = SigningSites.generate("site-a", "site-b");
        Path file = sites.writeRegistry(dir.resolve("site-keys.json"));
        SiteKeys registry = SiteKeys.read(file);
        AdapterUpdate u = update("site-a");

        UpdateSigning.sign(u, sites.keyId("site-a"), sites.privateKey("site-a"));

        assertThat(registry.sites().keySet()).containsExactlyInAnyOrder("site-a", "site-b");
        assertThat(registry.key("site-a", sites.keyId("site-a")))
                .hasValueSatisfying(k -> assertThat(UpdateSigning.verify(u, k)).isTrue());
        assertThat(registry.key("site-b", sites.keyId("site-b")))
                .hasValueSatisfying(k -> assertThat(UpdateSigning.verify(u, k)).isFalse());
        assertThatThrownBy(() -> sites.keyId("site-c"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SigningSites.generate("x", "x"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
