package io.fedstream.schemas;

/** Default topic names. Every one of them can be overridden in the job's and workers' config. */
public final class Topics {
    /** {@link io.fedstream.schemas.avro.AdapterUpdate}s from sites, keyed by federation id. */
    public static final String ADAPTER_UPDATES = "adapter-updates";

    /** {@link io.fedstream.schemas.avro.GlobalModel}s from the job, keyed by federation id. */
    public static final String GLOBAL_MODELS = "global-models";

    /** {@link io.fedstream.schemas.avro.RejectedUpdate}s: the dead letters, keyed by site id. */
    public static final String REJECTED_UPDATES = "rejected-updates";

    /**
     * FedDTPT: {@link io.fedstream.schemas.avro.PromptUpdate}s (sites' tuned discrete prompts),
     * keyed by federation id.
     */
    public static final String PROMPT_UPDATES = "prompt-updates";

    /**
     * FedDTPT: {@link io.fedstream.schemas.avro.GlobalPrompt}s from the prompt job, keyed by
     * federation id.
     */
    public static final String GLOBAL_PROMPTS = "global-prompts";

    /**
     * A site's own dead letters: {@code rejected-updates.<site>}, written by the job besides {@link
     * #REJECTED_UPDATES}, readable by that site alone under its ACLs.
     */
    public static String feedback(String siteId) {
        return REJECTED_UPDATES + "." + siteId;
    }

    /**
     * {@link io.fedstream.schemas.avro.PrivacyLedger}s: what each DP version cost its sites, keyed
     * by federation id.
     */
    public static final String PRIVACY_LEDGER = "privacy-ledger";

    private Topics() {}
}
