package io.fedstream.aggregation.privacy;

/**
 * One site's privacy spend under central DP-FedAvg, as the job keeps it: the Rényi DP composed over
 * every version the site contributed to (q = 1, see {@link RdpAccountant}) and how many versions
 * that was. A version the site did not contribute to costs it nothing (its data did not enter it).
 */
public final class SiteBudget {
    private SiteBudget() {}

    /** The RDP after a version with {@code contributions} of the site's updates. */
    public static double[] afterVersion(double[] spent, double sigma, int contributions) {
        return RdpAccountant.compose(
                spent == null ? RdpAccountant.zero() : spent,
                RdpAccountant.round(sigma, contributions));
    }

    /** ε at δ of what the site has spent (0 for null: nothing yet). */
    public static double epsilon(double[] spent, double delta) {
        return spent == null ? 0 : RdpAccountant.epsilon(spent, delta);
    }

    /**
     * Whether the site stays within {@code budget} at δ if the open version, in which it has {@code
     * contributionsSoFar} updates already, takes one more of its updates.
     */
    public static boolean admits(
            double[] spent, int contributionsSoFar, double sigma, double delta, double budget) {
        return RdpAccountant.epsilon(afterVersion(spent, sigma, contributionsSoFar + 1), delta)
                <= budget;
    }

    /** ε at δ of a single version with one contribution: the least a budget must allow. */
    public static double oneVersion(double sigma, double delta) {
        return RdpAccountant.epsilon(RdpAccountant.round(sigma, 1), delta);
    }

    /**
     * How many versions with one contribution each a site can make within {@code budget} at δ (the
     * versions a local run with {@code --dp-epsilon} should plan for).
     */
    public static long versionsWithin(double sigma, double delta, double budget) {
        long n = 0;
        while (RdpAccountant.epsilon(1.0, sigma, n + 1, delta) <= budget) {
            n++;
            if (n > 1_000_000) {
                break;
            }
        }
        return n;
    }
}
