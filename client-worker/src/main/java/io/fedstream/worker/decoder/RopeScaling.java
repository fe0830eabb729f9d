package io.fedstream.worker.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * A {@code rope_scaling} entry of a Hugging Face {@code config.json}, computed as transformers'
 * {@code ROPE_INIT_FUNCTIONS} compute it (attention factor 1 in every supported type):
 *
 * <ul>
 *   <li>{@link Type#NONE} ({@code null} or type {@code default}): {@code inv_freq[j] = theta^(-2j /
 *       d)}.
 *   <li>{@link Type#LINEAR}: every {@code inv_freq} divided by {@code factor} (positions
 *       interpolated).
 *   <li>{@link Type#DYNAMIC} (dynamic NTK): the base grows to {@code theta * (factor * L /
 *       max_position_embeddings - (factor - 1))^(d / (d - 2))} once the sequence length {@code L}
 *       exceeds {@code max_position_embeddings}. The decoder never runs past {@code
 *       max_position_embeddings}, where this is the unscaled RoPE, so it computes as {@code NONE}.
 *   <li>{@link Type#LLAMA3}: Llama 3.1's frequency-dependent scaling: wavelengths {@code 2 pi /
 *       inv_freq} above {@code original_max_position_embeddings / low_freq_factor} are divided by
 *       {@code factor}, those below {@code original / high_freq_factor} kept, and those between
 *       interpolated smoothly.
 * </ul>
 *
 * Any other type ({@code yarn}, {@code longrope}, ...) is refused by name.
 */
public record RopeScaling(
        Type type,
        double factor,
        double lowFreqFactor,
        double highFreqFactor,
        int originalMaxPositions) {

    /** Supported scaling types by their Hugging Face name. */
    public enum Type {
        NONE("default"),
        LINEAR("linear"),
        DYNAMIC("dynamic"),
        LLAMA3("llama3");

        private final String hfName;

        Type(String hfName) {
            this.hfName = hfName;
        }

        public String hfName() {
            return hfName;
        }
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0, 0);

    public RopeScaling {
        if (type == null) {
            throw new IllegalArgumentException("a rope_scaling type is needed");
        }
        if (type != Type.NONE && !(factor > 0)) {
            throw new IllegalArgumentException("rope_scaling.factor must be positive: " + factor);
        }
        if (type == Type.LLAMA3
                && !(lowFreqFactor > 0
                        && highFreqFactor > lowFreqFactor
                        && originalMaxPositions > 0)) {
            throw new IllegalArgumentException(
                    "rope_scaling llama3 needs 0 < low_freq_factor < high_freq_factor and a"
                            + " positive original_max_position_embeddings");
        }
    }

    /** Llama 3.1 / 3.2 scaling. */
    public static RopeScaling llama3(double factor, double low, double high, int originalMax) {
        return new RopeScaling(Type.LLAMA3, factor, low, high, originalMax);
    }

    /** Linear position interpolation. */
    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    /**
     * The entry of {@code config.json} ({@code null} or absent: none). Both {@code rope_type} and
     * the older {@code type} key are read.
     */
    static RopeScaling fromJson(JsonNode node) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException("rope_scaling must be an object or null: " + node);
        }
        JsonNode t = node.hasNonNull("rope_type") ? node.get("rope_type") : node.get("type");
        String type = t == null ? "" : t.asText().toLowerCase(Locale.ROOT);
        return switch (type) {
            case "default" -> NONE;
            case "linear" -> new RopeScaling(Type.LINEAR, number(node, "factor"), 0, 0, 0);
            case "dynamic" -> new RopeScaling(Type.DYNAMIC, number(node, "factor"), 0, 0, 0);
            case "llama3" ->
                    llama3(
                            number(node, "factor"),
                            number(node, "low_freq_factor"),
                            number(node, "high_freq_factor"),
                            (int) number(node, "original_max_position_embeddings"));
            default ->
                    throw new IllegalArgumentException(
                            "rope_scaling type '"
                                    + type
                                    + "' is not supported (default, linear, dynamic or llama3)");
        };
    }

    private static double number(JsonNode node, String key) {
        JsonNode v = node.get(key);
        if (v == null || !v.isNumber()) {
            throw new IllegalArgumentException("rope_scaling lacks the number " + key);
        }
        return v.asDouble();
    }

    /** Writes this entry under {@code rope_scaling} (null for none). */
    void toJson(ObjectNode root) {
        if (type == Type.NONE) {
            root.putNull("rope_scaling");
            return;
        }
        ObjectNode s = root.putObject("rope_scaling");
        s.put("rope_type", type.hfName());
        s.put("factor", factor);
        if (type == Type.LLAMA3) {
            s.put("low_freq_factor", lowFreqFactor);
            s.put("high_freq_factor", highFreqFactor);
            s.put("original_max_position_embeddings", originalMaxPositions);
        }
    }

    /** The rotary inverse frequencies {@code [d / 2]} of a head of width {@code d}. */
    public double[] inverseFrequencies(int d, double theta) {
        int half = d / 2;
        double[] inv = new double[half];
        for (int j = 0; j < half; j++) {
            inv[j] = 1.0 / Math.pow(theta, (2.0 * j) / d);
        }
        switch (type) {
            case NONE, DYNAMIC -> {}
            case LINEAR -> {
                for (int j = 0; j < half; j++) {
                    inv[j] /= factor;
                }
            }
            case LLAMA3 -> {
                double lowWavelen = originalMaxPositions / lowFreqFactor;
                double highWavelen = originalMaxPositions / highFreqFactor;
                for (int j = 0; j < half; j++) {
                    double wavelen = 2 * Math.PI / inv[j];
                    if (wavelen > lowWavelen) {
                        inv[j] /= factor;
                    } else if (wavelen >= highWavelen) {
                        double smooth =
                                (originalMaxPositions / wavelen - lowFreqFactor)
                                        / (highFreqFactor - lowFreqFactor);
                        inv[j] = (1 - smooth) * inv[j] / factor + smooth * inv[j];
                    }
                }
            }
        }
        return inv;
    }
}
