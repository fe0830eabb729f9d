package io.fedstream.worker.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Reading and writing a Hugging Face {@code config.json}, shared by the encoder's and the decoder's
 * configurations.
 */
public final class HfConfigJson {
    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfConfigJson() {}

    /** The JSON object of {@code json}; refused unless it is one. */
    public static JsonNode read(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config.json is not a JSON object");
        }
        return root;
    }

    /** An empty object to fill and {@link #write}. */
    public static ObjectNode newObject() {
        return JSON.createObjectNode();
    }

    /** {@code root} as indented JSON text. */
    public static String write(ObjectNode root) {
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The integer at {@code key}; refused, naming the key, where there is none. */
    public static int required(JsonNode root, String key) {
        JsonNode v = root.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException("config.json lacks integer " + key);
        }
        return v.asInt();
    }
}
