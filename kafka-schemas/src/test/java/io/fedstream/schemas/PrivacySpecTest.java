package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PrivacySpecTest {
    static final String TENSORS = "\"tensors\": [{\"name\": \"w\", \"shape\": [2, 2]}]";

    @Test
    void aSpecWithPrivacyRoundTripsThroughJson() {
        FederationSpec spec =
                new FederationSpec("dp", 1, List.of(TensorSpec.zeros("w", 2, 2)))
                        .withPrivacy(new PrivacySpec(1.0, 1.1, 1e-5, 8.0, 3));
        FederationSpec back = FederationSpec.fromJson(spec.toJson());
        assertThat(back).isEqualTo(spec);
        assertThat(back.privacy().expectedContributionsOr(5)).isEqualTo(3);
    }

    @Test
    void aSpecWithoutPrivacyHasNoPrivacyField() {
        FederationSpec spec = new FederationSpec("plain", 1, List.of(TensorSpec.zeros("w", 2)));
        assertThat(spec.toJson()).doesNotContain("privacy");
        assertThat(FederationSpec.fromJson(spec.toJson()).privacy()).isNull();
    }

    @Test
    void theExpectedContributionsDefaultToTheQuorum() {
        FederationSpec spec =
                FederationSpec.fromJson(
                        "{\"id\": \"dp\", \"seed\": 1, "
                                + TENSORS
                                + ", \"privacy\": {\"clipNorm\": 0.5, \"noiseMultiplier\": 1,"
                                + " \"delta\": 1e-5, \"epsilonBudget\": 4}}");
        assertThat(spec.privacy().expectedContributionsOr(4)).isEqualTo(4);
    }

    @Test
    void aSpecWithDpButNoDeltaIsRefusedNamingTheField() {
        assertThatThrownBy(
                        () -> spec("\"clipNorm\": 1, \"noiseMultiplier\": 1, \"epsilonBudget\": 4"))
                .hasMessageContaining("privacy.delta is required");
    }

    @Test
    void aSigmaOfZeroIsRefusedNamingTheField() {
        assertThatThrownBy(
                        () ->
                                spec(
                                        "\"clipNorm\": 1, \"noiseMultiplier\": 0, \"delta\": 1e-5,"
                                                + " \"epsilonBudget\": 4"))
                .hasMessageContaining("privacy.noiseMultiplier must be positive");
    }

    @Test
    void missingClipOrBudgetIsRefusedNamingTheField() {
        assertThatThrownBy(
                        () -> spec("\"noiseMultiplier\": 1, \"delta\": 1e-5, \"epsilonBudget\": 4"))
                .hasMessageContaining("privacy.clipNorm is required");
        assertThatThrownBy(() -> spec("\"clipNorm\": 1, \"noiseMultiplier\": 1, \"delta\": 1e-5"))
                .hasMessageContaining("privacy.epsilonBudget is required");
        assertThatThrownBy(
                        () ->
                                spec(
                                        "\"clipNorm\": 1, \"noiseMultiplier\": 1, \"delta\": 2,"
                                                + " \"epsilonBudget\": 4"))
                .hasMessageContaining("privacy.delta must be in (0, 1)");
    }

    private static FederationSpec spec(String privacy) {
        return FederationSpec.fromJson(
                "{\"id\": \"dp\", \"seed\": 1, " + TENSORS + ", \"privacy\": {" + privacy + "}}");
    }
}
