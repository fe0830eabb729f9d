package io.fedstream.worker.mlp;

import java.util.Objects;

/** One site's local data: what it trains on and its own held-out split. */
public record SiteData(int site, Examples train, Examples eval) {
    public SiteData {
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(eval, "eval");
        if (train.dim() != eval.dim()) {
            throw new IllegalArgumentException("train and eval dimensions differ");
        }
    }
}
