package io.fedstream.lab.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import java.util.List;
import org.junit.jupiter.api.Test;

class BenchSitesTest {

    @Test
    void theDefaultSpecIsRank8LoraOnQueryAndValueOf32Layers() {
        int layers = BenchSites.layersFor(4_200_000);

        FederationSpec spec = BenchSites.loraSpec("bench", layers);

        assertThat(layers).isEqualTo(32);
        assertThat(spec.parameterCount()).isEqualTo(4_194_304L); // 16.8 MB of float32
        assertThat(spec.tensors()).hasSize(128);
        assertThat(spec.tensors().get(0).shape()).containsExactly(8, 4096);
        assertThat(spec.tensors().get(1).shape()).containsExactly(4096, 8);
    }

    @Test
    void updatesAreSignedByTheirSitesKeyInTheRegistry() {
        BenchSites sites = new BenchSites(BenchSites.loraSpec("t", 1), 3, true, 7);
        SiteKeys registry = sites.registry();

        AdapterUpdate u = sites.update(1, 0, "site-2/v0", 6);

        assertThat(u.getSiteId()).isEqualTo("site-2");
        assertThat(
                        UpdateSigning.verify(
                                u,
                                registry.key("site-2", u.getSignature().getKeyId()).orElseThrow()))
                .isTrue();
        assertThat(
                        UpdateSigning.verify(
                                u, registry.key("site-1", BenchSites.keyId(0)).orElseThrow()))
                .isFalse();
    }

    @Test
    void unsignedSitesLeaveTheSignatureEmpty() {
        BenchSites sites = new BenchSites(BenchSites.loraSpec("t", 1), 2, false, 7);

        AdapterUpdate u = sites.update(0, 0, "u", 0);

        assertThat(u.getSignature()).isNull();
        assertThat(u.getTensors()).hasSize(4);
    }

    @Test
    void percentileIsNearestRank() {
        List<Long> v = List.of(5L, 1L, 4L, 2L, 3L);

        assertThat(E2eBench.percentile(v, 50)).isEqualTo(3);
        assertThat(E2eBench.percentile(v, 99)).isEqualTo(5);
        assertThat(E2eBench.percentile(List.of(), 50)).isEqualTo(-1);
    }
}
