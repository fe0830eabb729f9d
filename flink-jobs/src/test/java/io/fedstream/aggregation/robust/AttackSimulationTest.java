package io.fedstream.aggregation.robust;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.robust.AttackSimulation.Attack;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Federated least squares under attack (see {@link AttackSimulation}): 10 non-IID sites, 20 rounds,
 * 10 seeds, each rule configured for up to 3 malicious sites (trimmed mean β = 0.3, Multi-Krum f =
 * 3, m = 7, clipping at 1.0, about the median norm of an honest first-round update). Prints, per
 * setting, the final losses of seed 1 and the worst ratio to the clean FedAvg loss over the seeds.
 *
 * <p>What is asserted held with a margin over seeds 1 to 100 when this test was written:
 *
 * <ul>
 *   <li>with 3 malicious sites FedAvg breaks under sign flipping (≥ 10× the clean loss; 29× to
 *       10¹¹× measured) and, in every setting, under Gaussian noise;
 *   <li>median, trimmed mean and Multi-Krum stay within 4× the clean loss under sign flipping,
 *       scaling and noise (up to 3.4× measured: they pay for heterogeneity, as the coordinate-wise
 *       rules are biased when honest updates disagree and Multi-Krum drops honest sites' data);
 *   <li>with 3 malicious sites and mildly non-IID data, Multi-Krum (f=3, m=7) selects exactly the
 *       honest updates under those three attacks: the same loss, bit for bit, as FedAvg over the
 *       honest sites alone (with strongly non-IID data it let an attacker in on 2 seeds of 100);
 *   <li>norm clipping neutralises scaling (≤ 2× the clean loss).
 * </ul>
 *
 * Not asserted, because it does not hold: scaling an honest update by 10 is only a larger step in a
 * good direction on a convex problem, so it hurts FedAvg by anything from 1.0× to 10¹³× depending
 * on the data; with 2 malicious sites, sign flipping ×(−4) breaks FedAvg only when their share of
 * the examples (the weights) is above 1/5; norm clipping does not withstand sign flipping or noise
 * (a clipped attacker still pulls); and "a little is enough" (ALIE) is not withstood by any rule
 * here: the median, trimmed mean and Multi-Krum do no better, often worse, than FedAvg under it, as
 * Baruch et al. designed it.
 */
class AttackSimulationTest {
    private static final int ROUNDS = 20;
    private static final int SEEDS = 10;
    private static final List<Attack> HARMFUL =
            List.of(Attack.SIGN_FLIP, Attack.SCALE, Attack.NOISE);

    private static final List<RobustRule> RULES =
            List.of(
                    RobustRules.of("fedavg", Map.of()),
                    RobustRules.of("norm-clipping", Map.of("maxNorm", "1.0")),
                    RobustRules.of("median", Map.of()),
                    RobustRules.of("trimmed-mean", Map.of("beta", "0.3")),
                    RobustRules.of("multi-krum", Map.of("f", "3", "m", "7")));
    private static final int FEDAVG = 0;
    private static final int CLIP = 1;
    private static final int KRUM = 4;
    private static final List<Integer> ROBUST = List.of(2, 3, 4);

    /** Final losses of one setting: [seed][attack][rule], with references per seed. */
    private record Results(
            double[][][] loss,
            double[] clean,
            double[] honestOnly,
            double[] optimum,
            double[] initial) {
        double ratio(int seed, Attack attack, int rule) {
            return loss[seed][attack.ordinal()][rule] / clean[seed];
        }
    }

    private static Results measure(String title, int malicious, double covariate, double concept) {
        int attacks = Attack.values().length;
        Results r =
                new Results(
                        new double[SEEDS][attacks][RULES.size()],
                        new double[SEEDS],
                        new double[SEEDS],
                        new double[SEEDS],
                        new double[SEEDS]);
        for (int s = 0; s < SEEDS; s++) {
            AttackSimulation sim = new AttackSimulation(s + 1, malicious, covariate, concept);
            r.clean[s] = sim.run(RULES.get(FEDAVG), Attack.NONE, ROUNDS);
            r.honestOnly[s] = sim.honestOnly(ROUNDS);
            r.optimum[s] = sim.optimalLoss();
            r.initial[s] = sim.loss(new double[AttackSimulation.DIM]);
            for (Attack a : Attack.values()) {
                for (int j = 0; j < RULES.size(); j++) {
                    r.loss[s][a.ordinal()][j] = sim.run(RULES.get(j), a, ROUNDS);
                }
            }
        }
        print(title, r);
        return r;
    }

    private static void print(String title, Results r) {
        StringBuilder out = new StringBuilder("\n== ").append(title).append('\n');
        out.append(
                String.format(
                        Locale.ROOT,
                        "final loss after %d rounds, seed 1 (start %.3g, optimum %.3g, clean FedAvg"
                                + " %.3g, FedAvg of the honest sites alone %.3g)%n",
                        ROUNDS,
                        r.initial[0],
                        r.optimum[0],
                        r.clean[0],
                        r.honestOnly[0]));
        header(out);
        for (Attack a : Attack.values()) {
            out.append(String.format(Locale.ROOT, "%-17s", a.label));
            for (int j = 0; j < RULES.size(); j++) {
                out.append(String.format(Locale.ROOT, " %13.4g", r.loss[0][a.ordinal()][j]));
            }
            out.append('\n');
        }
        out.append(
                String.format(
                        Locale.ROOT,
                        "worst (largest) loss / clean FedAvg loss over seeds 1..%d%n",
                        SEEDS));
        header(out);
        for (Attack a : Attack.values()) {
            out.append(String.format(Locale.ROOT, "%-17s", a.label));
            for (int j = 0; j < RULES.size(); j++) {
                double worst = 0;
                for (int s = 0; s < SEEDS; s++) {
                    double ratio = r.ratio(s, a, j);
                    worst = Double.isNaN(ratio) ? ratio : Math.max(worst, ratio);
                }
                out.append(String.format(Locale.ROOT, " %13.3g", worst));
            }
            out.append('\n');
        }
        System.out.print(out);
    }

    private static void header(StringBuilder out) {
        out.append(String.format(Locale.ROOT, "%-17s", "attack \\ rule"));
        for (RobustRule rule : RULES) {
            String n = rule.describe();
            out.append(String.format(Locale.ROOT, " %13s", n.length() > 13 ? rule.name() : n));
        }
        out.append('\n');
    }

    private static void assertRobustRulesStayWithin4xOfClean(Results r) {
        for (int s = 0; s < SEEDS; s++) {
            for (Attack a : HARMFUL) {
                for (int j : ROBUST) {
                    assertThat(r.ratio(s, a, j))
                            .as("%s under %s, seed %d", RULES.get(j).describe(), a.label, s + 1)
                            .isLessThan(4.0);
                }
            }
        }
    }

    /** FedAvg's loss is at least these multiples of the clean loss (NaN: not checked). */
    private static void assertFedAvgBreaks(Results r, double signFlip, double noise) {
        for (int s = 0; s < SEEDS; s++) {
            if (!Double.isNaN(signFlip)) {
                // NaN or infinity would also count as broken
                assertThat(r.ratio(s, Attack.SIGN_FLIP, FEDAVG) >= signFlip || !isFinite(r, s))
                        .as("fedavg under sign flip, seed %d", s + 1)
                        .isTrue();
            }
            assertThat(r.ratio(s, Attack.NOISE, FEDAVG))
                    .as("fedavg under noise, seed %d", s + 1)
                    .isGreaterThan(noise);
        }
    }

    private static boolean isFinite(Results r, int s) {
        return Double.isFinite(r.loss[s][Attack.SIGN_FLIP.ordinal()][FEDAVG]);
    }

    private static void assertClippingNeutralisesScaling(Results r) {
        for (int s = 0; s < SEEDS; s++) {
            assertThat(r.ratio(s, Attack.SCALE, CLIP))
                    .as("norm-clipping under scaling, seed %d", s + 1)
                    .isLessThan(2.0);
        }
    }

    private static void assertKrumSelectsExactlyTheHonest(Results r) {
        for (int s = 0; s < SEEDS; s++) {
            for (Attack a : HARMFUL) {
                assertThat(r.loss[s][a.ordinal()][KRUM])
                        .as("multi-krum under %s, seed %d", a.label, s + 1)
                        .isEqualTo(r.honestOnly[s]);
            }
        }
    }

    @Test
    void thirtyPercentMaliciousStronglyNonIid() {
        Results r =
                measure(
                        "3 of 10 sites malicious, strongly non-IID (site feature means sd 1.0,"
                                + " site w sd 0.3)",
                        3,
                        1.0,
                        0.3);

        assertFedAvgBreaks(r, 10, 2);
        assertRobustRulesStayWithin4xOfClean(r);
        assertClippingNeutralisesScaling(r);
    }

    @Test
    void thirtyPercentMaliciousMildlyNonIid() {
        Results r =
                measure(
                        "3 of 10 sites malicious, mildly non-IID (site feature means sd 0.5,"
                                + " site w sd 0.1)",
                        3,
                        0.5,
                        0.1);

        assertFedAvgBreaks(r, 10, 10);
        assertRobustRulesStayWithin4xOfClean(r);
        assertKrumSelectsExactlyTheHonest(r);
        assertClippingNeutralisesScaling(r);
    }

    @Test
    void twentyPercentMaliciousStronglyNonIid() {
        Results r =
                measure(
                        "2 of 10 sites malicious, strongly non-IID (site feature means sd 1.0,"
                                + " site w sd 0.3)",
                        2,
                        1.0,
                        0.3);

        assertFedAvgBreaks(r, Double.NaN, 1.3);
        assertRobustRulesStayWithin4xOfClean(r);
        assertClippingNeutralisesScaling(r);
    }
}
