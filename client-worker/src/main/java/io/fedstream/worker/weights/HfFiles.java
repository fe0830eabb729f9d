package io.fedstream.worker.weights;

import io.fedstream.worker.djl.FloatTensor;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

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

    /** The text of {@code directory}'s {@link #CONFIG}; a clear error if there is none. */
    public static String readConfig(Path directory) throws IOException {
        Path configFile = directory.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new FileNotFoundException(configFile + " does not exist");
        }
        return Files.readString(configFile);
    }

    /** The error for a directory with neither {@link #WEIGHTS} nor {@link #WEIGHTS_INDEX}. */
    public static FileNotFoundException noWeights(Path directory) {
        return new FileNotFoundException(
                directory
                        + " has neither "
                        + WEIGHTS
                        + " nor "
                        + WEIGHTS_INDEX
                        + " (only safetensors checkpoints are supported)");
    }

    /**
     * The file of a shard that {@code index} names, which must lie inside {@code directory}.
     *
     * @param where how an error names the index (its path, or a prefix such as {@code "index"})
     */
    public static Path shardFile(Path directory, String shard, Object where) throws IOException {
        Path file = directory.resolve(shard).normalize();
        if (!file.startsWith(directory.normalize())) {
            throw new IOException(where + ": shard " + shard + " lies outside " + directory);
        }
        return file;
    }

    /**
     * Writes {@link #CONFIG} and {@link #WEIGHTS} (in {@code dtype}, PyTorch format metadata) into
     * {@code directory}, which must exist.
     */
    public static void write(
            Path directory,
            String configJson,
            Map<String, FloatTensor> tensors,
            SafeTensors.DType dtype)
            throws IOException {
        Files.writeString(directory.resolve(CONFIG), configJson);
        SafeTensors.write(directory.resolve(WEIGHTS), tensors, dtype, Map.of("format", "pt"));
    }

    /** Whether {@code directory} has a {@link #TOKENIZER}. */
    public static boolean hasTokenizer(Path directory) {
        return Files.isRegularFile(directory.resolve(TOKENIZER));
    }
}
