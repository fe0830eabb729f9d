package io.fedstream.worker.weights;

/**
 * The file names of a Hugging Face checkpoint directory, shared by the encoder's and the decoder's
 * checkpoint readers.
 */
public final class HfFiles {
    /** The architecture. */
    public static final String CONFIG = "config.json";

    /** The weights in one file. */
    public static final String WEIGHTS = "model.safetensors";

    /** The index of sharded weights. */
    public static final String WEIGHTS_INDEX = "model.safetensors.index.json";

    /** The tokenizer. */
    public static final String TOKENIZER = "tokenizer.json";

    private HfFiles() {}
}
