package io.fedstream.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class StalenessFunctionTest {

    @Test
    void everyFunctionLeavesFreshUpdatesUndiscounted() {
        assertThat(new StalenessFunction.Constant().apply(0)).isEqualTo(1.0);
        assertThat(new StalenessFunction.Polynomial(0.5).apply(0)).isEqualTo(1.0);
        assertThat(new StalenessFunction.Hinge(10, 4).apply(0)).isEqualTo(1.0);
    }

    @Test
    void polynomialDecaysAsOnePlusSToTheMinusA() {
        StalenessFunction f = new StalenessFunction.Polynomial(0.5);

        assertThat(f.apply(3)).isCloseTo(0.5, within(1e-15));
        assertThat(f.apply(8)).isCloseTo(1.0 / 3.0, within(1e-15));
    }

    @Test
    void hingeIsFlatUpToBThenDecaysHyperbolically() {
        StalenessFunction f = new StalenessFunction.Hinge(2, 4);

        assertThat(f.apply(4)).isEqualTo(1.0);
        assertThat(f.apply(5)).isCloseTo(1.0 / 3.0, within(1e-15));
        assertThat(f.apply(9)).isCloseTo(1.0 / 11.0, within(1e-15));
    }

    @Test
    void constantIgnoresStaleness() {
        assertThat(new StalenessFunction.Constant().apply(1000)).isEqualTo(1.0);
    }

    @Test
    void parsesConfiguredNamesAndRejectsUnknownOnes() {
        assertThat(StalenessFunction.of("HINGE", 1, 2))
                .isEqualTo(new StalenessFunction.Hinge(1, 2));
        assertThat(StalenessFunction.of("polynomial", 0.7, 0).describe())
                .isEqualTo("polynomial(a=0.7)");
        assertThatThrownBy(() -> StalenessFunction.of("exponential", 1, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("exponential");
    }

    @Test
    void rejectsNegativeStalenessAndParameters() {
        assertThatThrownBy(() -> new StalenessFunction.Polynomial(0.5).apply(-1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new StalenessFunction.Polynomial(-1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new StalenessFunction.Hinge(1, -1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void parsesItsOwnDescriptionBackForAudits() {
        for (StalenessFunction f :
                new StalenessFunction[] {
                    new StalenessFunction.Constant(),
                    new StalenessFunction.Polynomial(0.7),
                    new StalenessFunction.Hinge(10, 4)
                }) {
            assertThat(StalenessFunction.parse(f.describe())).isEqualTo(f);
        }
        assertThatThrownBy(() -> StalenessFunction.parse("hinge(a=1,c=2)"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
