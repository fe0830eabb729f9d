package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class UpdateKeyTest {

    @Test
    void aKeyNamesItsUpdateIdAndSiteAndIsNotLegacy() {
        String key = UpdateKey.of("site-a", "site-b/v3");

        assertThat(UpdateKey.isLegacy(key)).isFalse();
        assertThat(UpdateKey.updateId(key)).isEqualTo("site-b/v3");
        assertThat(UpdateKey.describe(key)).isEqualTo("site-a:site-b/v3");
    }

    @Test
    void theSameUpdateIdFromTwoSitesGivesTwoKeys() {
        assertThat(UpdateKey.of("site-a", "u1")).isNotEqualTo(UpdateKey.of("site-b", "u1"));
    }

    @Test
    void withoutASiteTheKeyIsTheBareLegacyUpdateId() {
        String key = UpdateKey.of(null, "site-a/v0");

        assertThat(key).isEqualTo("site-a/v0");
        assertThat(UpdateKey.isLegacy(key)).isTrue();
        assertThat(UpdateKey.updateId(key)).isEqualTo("site-a/v0");
        assertThat(UpdateKey.describe(key)).isEqualTo("site-a/v0");
    }

    @Test
    void keysOfDistinctUpdateIdsSortAsTheIdsDo() {
        List<String> ids = List.of("a", "a/b", "ab", "b");
        List<String> keys =
                Stream.of("z", "a", "m", "q")
                        .map(s -> UpdateKey.of(s, ids.get("zamq".indexOf(s))))
                        .sorted()
                        .map(UpdateKey::updateId)
                        .toList();

        assertThat(keys).isEqualTo(ids.stream().sorted().toList());
    }
}
