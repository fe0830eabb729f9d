package io.fedstream.worker.prompt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A local black-box classifier built from a sentence encoder (zero-shot, no training): the system
 * message (the prompt) is combined with each label word into a label description, {@code prompt + "
 * " + label}, and the reply is the label whose description embeds closest (cosine) to the user
 * message's embedding. The prompt therefore decides what the labels mean to the model, which is
 * what FedDTPT's client tunes; the model itself never changes and is deterministic.
 *
 * <p>Why not embed {@code prompt + text} as one input: that costs one encoder pass per example and
 * candidate prompt; here a text is encoded once (cached) and a candidate prompt costs one short
 * pass per label (cached), so a tuning run of thousands of API calls takes seconds on a CPU. Every
 * {@link #complete} is still one API call to the client that counts them.
 */
public final class EncoderClassifier implements BlackBoxModel {
    private final SentenceEncoder encoder;
    private final List<String> labels;
    private final Map<String, float[]> texts = new HashMap<>();
    private final Map<String, float[][]> descriptions;

    /**
     * @param labels the label words the model answers with, e.g. {@code negative}, {@code positive}
     */
    public EncoderClassifier(SentenceEncoder encoder, List<String> labels) {
        if (labels.size() < 2) {
            throw new IllegalArgumentException("a classifier needs at least two labels");
        }
        this.encoder = encoder;
        this.labels = List.copyOf(labels);
        this.descriptions =
                new LinkedHashMap<>(256, 0.75f, true) {
                    @Override
                    protected boolean removeEldestEntry(Map.Entry<String, float[][]> e) {
                        return size() > 4096;
                    }
                };
    }

    public List<String> labels() {
        return labels;
    }

    /** Encodes and caches texts ahead of the calls that will classify them (a batch is faster). */
    public synchronized void warm(List<String> userTexts) {
        List<String> missing = new ArrayList<>();
        for (String t : userTexts) {
            if (!texts.containsKey(t) && !missing.contains(t)) {
                missing.add(t);
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        float[][] e = encoder.embed(missing);
        for (int i = 0; i < e.length; i++) {
            texts.put(missing.get(i), e[i]);
        }
    }

    @Override
    public synchronized String complete(String system, String user) {
        float[] t = texts.get(user);
        if (t == null) {
            t = encoder.embed(List.of(user))[0];
            texts.put(user, t);
        }
        float[][] d = descriptions.get(system);
        if (d == null) {
            List<String> inputs = new ArrayList<>(labels.size());
            for (String l : labels) {
                inputs.add(system.isBlank() ? l : system.strip() + " " + l);
            }
            d = encoder.embed(inputs);
            descriptions.put(system, d);
        }
        int best = 0;
        double bestSim = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < d.length; i++) {
            double s = 0;
            for (int j = 0; j < t.length; j++) {
                s += (double) t[j] * d[i][j];
            }
            if (s > bestSim) {
                bestSim = s;
                best = i;
            }
        }
        return labels.get(best);
    }
}
