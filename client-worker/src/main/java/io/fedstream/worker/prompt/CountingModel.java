package io.fedstream.worker.prompt;

import java.util.concurrent.atomic.AtomicLong;

/** Counts the API calls made through it: FedDTPT's budget is in calls. */
public final class CountingModel implements BlackBoxModel {
    private final BlackBoxModel model;
    private final AtomicLong calls = new AtomicLong();

    public CountingModel(BlackBoxModel model) {
        this.model = model;
    }

    @Override
    public String complete(String system, String user) {
        calls.incrementAndGet();
        return model.complete(system, user);
    }

    /** Calls made so far. */
    public long calls() {
        return calls.get();
    }
}
