package io.fedstream.worker.mlp;

import io.fedstream.worker.SiteTrainer.EvalResult;
import java.util.Map;

/**
 * Evaluates adapters on a fixed held-out set without a site, e.g. every global version on the
 * federation's balanced global held-out set. Owns one DJL model; close it. Thread-safe (calls are
 * serialised).
 */
public final class LoraMlpEvaluator implements AutoCloseable {
    private final LoraMlpSession session;
    private final Examples evalData;

    public LoraMlpEvaluator(LoraMlpConfig config, Examples evalData) {
        this.evalData = evalData;
        this.session = new LoraMlpSession(config, "lora-mlp-evaluator");
    }

    /** Loss and accuracy of {@code adapter} (every tensor of the spec) on the held-out set. */
    public synchronized EvalResult evaluate(Map<String, float[]> adapter) {
        session.loadAdapter(adapter);
        return session.evaluate(evalData);
    }

    public Examples evalData() {
        return evalData;
    }

    @Override
    public synchronized void close() {
        session.close();
    }
}
