package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoraPairsTest {

    private static int[] s(int... d) {
        return d;
    }

    @Test
    void pairsFactorsBySuffixAndKeepsTheRestAside() {
        LoraPairs p =
                LoraPairs.find(
                        List.of(
                                "layer0.query.lora_A",
                                "layer0.query.lora_B",
                                "layer0.intermediate.lora_B",
                                "head.weight",
                                "layer0.intermediate.lora_A",
                                "head.bias"),
                        List.of(s(4, 384), s(384, 4), s(1536, 4), s(2, 384), s(4, 384), s(2)));

        assertThat(p.pairs())
                .containsExactly(
                        new LoraPair("layer0.query", 0, 1, 4, 384, 384),
                        new LoraPair("layer0.intermediate", 4, 2, 4, 384, 1536));
        assertThat(p.others()).containsExactly(3, 5);
        assertThat(p.pair("layer0.intermediate").bName()).isEqualTo("layer0.intermediate.lora_B");
        assertThat(p.size(2)).isEqualTo(1536 * 4);
    }

    @Test
    void readsAFederationSpec() {
        FederationSpec spec =
                new FederationSpec(
                        "demo",
                        42,
                        List.of(
                                TensorSpec.normal("l0.lora_A", 0.02, 4, 32),
                                TensorSpec.zeros("l0.lora_B", 16, 4),
                                TensorSpec.zeros("head.bias", 3)));

        LoraPairs p = LoraPairs.of(spec);

        assertThat(p.pairs()).containsExactly(new LoraPair("l0", 0, 1, 4, 32, 16));
        assertThat(p.others()).containsExactly(2);
    }

    @Test
    void rejectsAFactorWithoutItsPartner() {
        assertThatThrownBy(
                        () ->
                                LoraPairs.find(
                                        List.of("l0.lora_A", "l1.lora_A", "l1.lora_B"),
                                        List.of(s(2, 3), s(2, 3), s(4, 2))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("l0.lora_A has no partner: l0.lora_B is missing");
        assertThatThrownBy(() -> LoraPairs.find(List.of("l0.lora_B"), List.of(s(4, 2))))
                .hasMessageContaining("l0.lora_A is missing");
    }

    @Test
    void rejectsMismatchedRanksAndWrongDimensions() {
        assertThatThrownBy(
                        () ->
                                LoraPairs.find(
                                        List.of("l0.lora_A", "l0.lora_B"),
                                        List.of(s(4, 32), s(16, 8))))
                .hasMessageContaining("rank mismatch")
                .hasMessageContaining("l0.lora_A[4, 32]")
                .hasMessageContaining("l0.lora_B[16, 8]");
        assertThatThrownBy(
                        () ->
                                LoraPairs.find(
                                        List.of("l0.lora_A", "l0.lora_B"),
                                        List.of(s(128), s(16, 4))))
                .hasMessageContaining("l0.lora_A must have shape [r, in]");
        assertThatThrownBy(
                        () ->
                                LoraPairs.find(
                                        List.of("l0.lora_A", "l0.lora_B"),
                                        List.of(s(4, 32), s(16, 4, 1))))
                .hasMessageContaining("l0.lora_B must have shape [out, r]");
    }

    @Test
    void rejectsMisplacedSuffixesEmptyModulesAndDuplicates() {
        assertThatThrownBy(() -> LoraPairs.find(List.of("q_proj.lora_A.weight"), List.of(s(4, 32))))
                .hasMessageContaining("looks like a LoRA factor");
        assertThatThrownBy(() -> LoraPairs.find(List.of(".lora_A"), List.of(s(4, 32))))
                .hasMessageContaining("no module name");
        assertThatThrownBy(() -> LoraPairs.find(List.of("h", "h"), List.of(s(1), s(1))))
                .hasMessageContaining("appears twice");
        assertThatThrownBy(() -> LoraPairs.find(List.of("h"), List.of()))
                .hasMessageContaining("1 tensor names but 0 shapes");
    }
}
