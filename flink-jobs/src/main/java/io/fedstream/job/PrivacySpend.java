package io.fedstream.job;

/**
 * Keyed state of {@link io.fedstream.job.adapter.RoundCoordinator} for federations with central DP:
 * one site's composed Rényi DP over the closed versions it contributed to (at {@link
 * io.fedstream.aggregation.privacy.RdpAccountant#orders()}), and how many versions that was. Public
 * fields so Flink serializes it as a POJO.
 */
public class PrivacySpend {
    public double[] rdp;
    public long versions;

    public PrivacySpend() {}

    public PrivacySpend(double[] rdp, long versions) {
        this.rdp = rdp;
        this.versions = versions;
    }
}
