package io.fedstream.job;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A FedDTPT federation: its id and the prompt of version 0. JSON: {@code {"id": "imdb",
 * "initial_tokens": ["classify", "the", "review"]}}, one object or an array of them.
 */
public record PromptFederation(
        @JsonProperty("id") String id, @JsonProperty("initial_tokens") List<String> initialTokens)
        implements Serializable {
    private static final ObjectMapper JSON = new ObjectMapper();

    public PromptFederation {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("a prompt federation needs an id");
        }
        if (initialTokens == null || initialTokens.isEmpty()) {
            throw new IllegalArgumentException("federation " + id + " needs initial_tokens");
        }
        initialTokens = List.copyOf(initialTokens);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<PromptFederation> fromJson(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            List<PromptFederation> out = new ArrayList<>();
            if (node.isArray()) {
                for (JsonNode n : node) {
                    out.add(JSON.treeToValue(n, PromptFederation.class));
                }
            } else {
                out.add(JSON.treeToValue(node, PromptFederation.class));
            }
            return out;
        } catch (IOException e) {
            throw new IllegalArgumentException("not prompt federation JSON: " + e.getMessage(), e);
        }
    }

    public static List<PromptFederation> readAll(Path file) {
        try {
            return fromJson(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
