package io.fedstream.schemas;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The contract of one federation: which adapter tensors it exchanges, with which shapes, and how
 * version 0 is initialised. The aggregation job creates version 0 from it and validates every
 * update against it; workers print it from their model configuration ({@code ./fedstream spec}).
 *
 * <p>Stored as JSON: {@code {"id": "demo", "seed": 42, "chunkElements": 131072, "tensors":
 * [{"name": "l0.lora_A", "shape": [4, 32], "init": "normal", "scale": 0.02}, ...]}}.
 *
 * <p>{@code encoding} (default FLOAT32; {@link UpdateEncoding}) is how sites encode their update
 * chunks: BFLOAT16, or blockwise INT8 or NF4 with a {@code blockSize}.
 *
 * <p>{@code chunkElements} (default {@link #DEFAULT_CHUNK_ELEMENTS}, 512 KiB of float32) is part of
 * the agreement: updates and global versions travel as chunks of that many elements of the
 * flattened parameter vector ({@link ChunkLayout}), so no record exceeds Kafka's default 1 MB
 * limit.
 */
public final class FederationSpec implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String id;
    private final long seed;
    private final List<TensorSpec> tensors;
    private final int chunkElements;

    /** Central client-level DP (DP-FedAvg), or null for none. */
    private final PrivacySpec privacy;

    /** How sites encode their update chunks, or null for FLOAT32. */
    private final UpdateEncoding encoding;

    /** Elements per chunk unless a spec says otherwise: 131072 float32 = 512 KiB per record. */
    public static final int DEFAULT_CHUNK_ELEMENTS = 131072;

    /** A spec with the default chunk size. */
    public FederationSpec(String id, long seed, List<TensorSpec> tensors) {
        this(id, seed, tensors, null);
    }

    /** A spec without differential privacy. */
    public FederationSpec(String id, long seed, List<TensorSpec> tensors, Integer chunkElements) {
        this(id, seed, tensors, chunkElements, null);
    }

    /** A spec whose updates travel as float32. */
    public FederationSpec(
            String id,
            long seed,
            List<TensorSpec> tensors,
            Integer chunkElements,
            PrivacySpec privacy) {
        this(id, seed, tensors, chunkElements, privacy, null);
    }

    @JsonCreator
    public FederationSpec(
            @JsonProperty("id") String id,
            @JsonProperty("seed") long seed,
            @JsonProperty("tensors") List<TensorSpec> tensors,
            @JsonProperty("chunkElements") Integer chunkElements,
            @JsonProperty("privacy") PrivacySpec privacy,
            @JsonProperty("encoding") UpdateEncoding encoding) {
        if (id == null) {
            throw new IllegalArgumentException("federation spec has no \"id\"");
        }
        if (tensors == null) {
            throw new IllegalArgumentException(
                    "federation " + id + " has no \"tensors\" (./fedstream spec prints a spec)");
        }
        this.privacy = privacy;
        this.encoding = UpdateEncoding.FLOAT32.equals(encoding) ? null : encoding;
        this.id = id;
        this.seed = seed;
        this.tensors = List.copyOf(tensors);
        this.chunkElements = chunkElements == null ? DEFAULT_CHUNK_ELEMENTS : chunkElements;
        if (this.chunkElements <= 0) {
            throw new IllegalArgumentException(
                    "federation " + id + ": chunkElements must be > 0, not " + chunkElements);
        }
        if (id.isBlank()) {
            throw new IllegalArgumentException("federation id is blank");
        }
        if (this.tensors.isEmpty()) {
            throw new IllegalArgumentException("federation " + id + " has no tensors");
        }
        Set<String> names = new HashSet<>();
        for (TensorSpec t : this.tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException(
                        "federation " + id + " names tensor " + t.name() + " twice");
            }
        }
    }

    @JsonProperty
    public String id() {
        return id;
    }

    @JsonProperty
    public long seed() {
        return seed;
    }

    @JsonProperty
    public List<TensorSpec> tensors() {
        return tensors;
    }

    /** Elements of the flattened parameter vector per chunk. */
    @JsonProperty
    public int chunkElements() {
        return chunkElements;
    }

    /** Central client-level DP of this federation ({@link PrivacySpec}), or null for none. */
    @JsonProperty
    @com.fasterxml.jackson.annotation.JsonInclude(
            com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public PrivacySpec privacy() {
        return privacy;
    }

    /** How sites encode their update chunks; FLOAT32 unless the spec says otherwise. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public UpdateEncoding encoding() {
        return encoding == null ? UpdateEncoding.FLOAT32 : encoding;
    }

    /** The spec's {@code encoding} as written: null for FLOAT32. */
    @JsonProperty("encoding")
    @com.fasterxml.jackson.annotation.JsonInclude(
            com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    UpdateEncoding encodingOrNull() {
        return encoding;
    }

    /** This spec with another chunk size. */
    public FederationSpec withChunkElements(int chunkElements) {
        return new FederationSpec(id, seed, tensors, chunkElements, privacy, encoding);
    }

    /** This spec with central DP (or, for null, without). */
    public FederationSpec withPrivacy(PrivacySpec privacy) {
        return new FederationSpec(id, seed, tensors, chunkElements, privacy, encoding);
    }

    /** This spec with another update encoding. */
    public FederationSpec withEncoding(UpdateEncoding encoding) {
        return new FederationSpec(id, seed, tensors, chunkElements, privacy, encoding);
    }

    /** How this federation's parameter vector is cut into chunks. */
    public ChunkLayout layout() {
        return ChunkLayout.of(this);
    }

    /** Total number of parameters over all tensors. */
    public long parameterCount() {
        long n = 0;
        for (TensorSpec t : tensors) {
            n += t.size();
        }
        return n;
    }

    /**
     * The deterministic initial values of every tensor (version 0): the same spec gives the same
     * bytes on every machine. Each tensor draws from its own stream, seeded by the federation seed
     * and the tensor's position, so adding a tensor at the end does not change the others.
     */
    public Map<String, float[]> initialValues() {
        Map<String, float[]> values = new LinkedHashMap<>();
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            float[] v = new float[t.size()];
            SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i);
            switch (t.init()) {
                case "normal" -> {
                    for (int j = 0; j < v.length; j++) {
                        v[j] = (float) (gaussian(rnd) * t.scale());
                    }
                }
                case "uniform" -> {
                    for (int j = 0; j < v.length; j++) {
                        v[j] = (float) ((rnd.nextDouble() * 2 - 1) * t.scale());
                    }
                }
                default -> {
                    // zeros
                }
            }
            values.put(t.name(), v);
        }
        return values;
    }

    // Box-Muller with a fixed algorithm, so values do not depend on the JDK's nextGaussian.
    private static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static FederationSpec fromJson(String json) {
        try {
            return JSON.readValue(json, FederationSpec.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a federation spec: " + e.getMessage(), e);
        }
    }

    /** Reads a JSON file holding one spec or an array of specs. */
    public static List<FederationSpec> readAll(Path file) {
        try {
            String text = Files.readString(file).strip();
            if (text.startsWith("[")) {
                return JSON.readValue(text, new TypeReference<List<FederationSpec>>() {});
            }
            return List.of(JSON.readValue(text, FederationSpec.class));
        } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
            // the spec's own check (a missing or wrong field): its message, not Jackson's
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException(
                    "federation spec in " + file + ": " + cause.getMessage(), e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(
                    "federation spec in " + file + " is not valid JSON: " + e.getOriginalMessage(),
                    e);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot read federation specs from " + file + ": " + e.getMessage(), e);
        }
    }

    public static void writeAll(Path file, List<FederationSpec> specs) {
        try {
            Files.writeString(file, JSON.writeValueAsString(specs));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FederationSpec f
                && id.equals(f.id)
                && seed == f.seed
                && chunkElements == f.chunkElements
                && tensors.equals(f.tensors)
                && Objects.equals(privacy, f.privacy)
                && Objects.equals(encoding, f.encoding);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, seed, tensors, chunkElements, privacy, encoding);
    }

    @Override
    public String toString() {
        return "FederationSpec{"
                + id
                + ", seed="
                + seed
                + ", chunkElements="
                + chunkElements
                + ", "
                + tensors
                + (privacy == null ? "" : ", " + privacy)
                + (encoding == null ? "" : ", encoding=" + encoding)
                + "}";
    }
}
