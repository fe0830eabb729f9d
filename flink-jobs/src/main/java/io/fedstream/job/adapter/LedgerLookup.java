package io.fedstream.job.adapter;

import io.fedstream.job.PrivacySpend;
import java.io.Serializable;
import java.util.Map;

/**
 * Reads what the sites of a DP federation have spent from the privacy ledger: used when a job
 * starts without state and continues a federation from a published version, so a fresh start never
 * forgets a spend.
 */
@FunctionalInterface
public interface LedgerLookup extends Serializable {
    /** Every site's newest spend recorded for a version at most {@code upToVersion}. */
    Map<String, PrivacySpend> spent(String federationId, long upToVersion);
}
