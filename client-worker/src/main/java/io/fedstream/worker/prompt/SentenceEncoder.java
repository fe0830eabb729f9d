package io.fedstream.worker.prompt;

import java.util.List;

/** Texts to unit-length sentence embeddings. */
public interface SentenceEncoder {
    /** One unit-length vector per text, in order. */
    float[][] embed(List<String> texts);

    /** A short name for reports, e.g. {@code all-MiniLM-L6-v2}. */
    String name();
}
