package io.fedstream.worker.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * MedQuAD (Ben Abacha and Demner-Fushman, 2019) as JSON lines: 16,407 medical question-answer pairs
 * from 9 NIH websites, one object a line with {@code id}, {@code source}, {@code question}, {@code
 * answer}, {@code qtype} (16 question types), {@code focus} and {@code document}.
 *
 * <p>The dataset is <em>not</em> part of the repository: it lives in {@code
 * ../shared/datasets/medquad/medquad.jsonl.gz} next to the repository root (CC BY 4.0; see the
 * README there). {@link #locate()} finds it.
 *
 * <p>Mapping: question → instruction, answer → output, empty input, qtype → category, and source →
 * source with the website's name as the dataset README spells it ({@link #SOURCES}: {@code
 * 3_GHR_QA} becomes {@code GHR}), so that sources are readable federated site names. MedQuAD's ids
 * repeat (12,133 distinct ids on 16,407 lines: ids number the questions within a document, and some
 * documents hold several sub-documents), so an example's id is the MedQuAD id followed by {@code #}
 * and the 1-based line number, e.g. {@code 0000013_2-1#278}. {@code focus} and {@code document} are
 * not kept.
 */
public final class MedQuad {
    /** The file name of the dataset. */
    public static final String FILE_NAME = "medquad.jsonl.gz";

    /** The dataset's place relative to the directory that holds the repository. */
    public static final String SHARED_RELATIVE_PATH = "shared/datasets/medquad/" + FILE_NAME;

    /** Where the repository (and the distribution) ships the file, with its licence. */
    public static final String SHIPPED_RELATIVE_PATH = "datasets/medquad/" + FILE_NAME;

    /**
     * The system property the launcher sets to the installation's root, where {@value
     * #SHIPPED_RELATIVE_PATH} lies.
     */
    public static final String HOME_PROPERTY = "fedstream.home";

    /** Environment variable naming the dataset file (or its directory). */
    public static final String ENV = "FEDSTREAM_MEDQUAD";

    /** System property naming the dataset file (or its directory); wins over {@link #ENV}. */
    public static final String PROPERTY = "fedstream.medquad";

    /** MedQuAD's source folder names and the website names the dataset README uses for them. */
    public static final Map<String, String> SOURCES = sources();

    private static final Pattern ORDINAL_PREFIX = Pattern.compile("^\\d+_");
    private static final Pattern QA_SUFFIX = Pattern.compile("_QA(_XML)?$");
    private static final Set<String> FIELDS = Set.of("id", "source", "question", "answer", "qtype");

    private MedQuad() {}

    private static Map<String, String> sources() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("1_CancerGov_QA", "CancerGov");
        m.put("2_GARD_QA", "GARD");
        m.put("3_GHR_QA", "GHR");
        m.put("4_MPlus_Health_Topics_QA", "MedlinePlus Health Topics");
        m.put("5_NIDDK_QA", "NIDDK");
        m.put("6_NINDS_QA", "NINDS");
        m.put("7_SeniorHealth_QA", "SeniorHealth");
        m.put("8_NHLBI_QA_XML", "NHLBI");
        m.put("9_CDC_QA", "CDC");
        return Map.copyOf(m);
    }

    /**
     * The website name for a MedQuAD source folder name: from {@link #SOURCES}, else the name
     * without its ordinal prefix and {@code _QA} suffix, underscores read as spaces.
     */
    public static String siteName(String source) {
        if (source == null) {
            return null;
        }
        String known = SOURCES.get(source);
        if (known != null) {
            return known;
        }
        String s =
                QA_SUFFIX.matcher(ORDINAL_PREFIX.matcher(source).replaceFirst("")).replaceAll("");
        return s.isEmpty() ? source : s.replace('_', ' ');
    }

    // ---------------------------------------------------------------- reading

    /** Opens a streaming reader of the located dataset that fails on malformed lines. */
    public static InstructionReader open() throws IOException {
        return open(locate(), OnMalformed.FAIL);
    }

    /** Opens a streaming reader that fails on the first malformed line. */
    public static InstructionReader open(Path file) throws IOException {
        return open(file, OnMalformed.FAIL);
    }

    /** Opens a streaming reader with the given policy for malformed lines. */
    public static InstructionReader open(Path file, OnMalformed onMalformed) throws IOException {
        return new InstructionReader(file, new Format(), onMalformed);
    }

    /** Reads the whole located dataset. */
    public static List<InstructionExample> readAll() {
        return readAll(locate());
    }

    /** Reads a whole MedQuAD JSON-lines file, failing on the first malformed line. */
    public static List<InstructionExample> readAll(Path file) {
        return readAll(file, OnMalformed.FAIL);
    }

    /** Reads a whole MedQuAD JSON-lines file with the given policy for malformed lines. */
    public static List<InstructionExample> readAll(Path file, OnMalformed onMalformed) {
        return InstructionReader.readAll(file, new Format(), onMalformed);
    }

    private static final class Format implements InstructionReader.Format {
        @Override
        public Set<String> fields() {
            return FIELDS;
        }

        @Override
        public InstructionExample toExample(
                Map<String, String> v, long line, InstructionReader reader)
                throws InstructionReader.BadRecord {
            String question = v.get("question");
            if (question == null) {
                throw new InstructionReader.BadRecord("missing field 'question'");
            }
            String answer = v.get("answer");
            if (answer == null) {
                throw new InstructionReader.BadRecord("missing field 'answer'");
            }
            String id = v.get("id");
            return new InstructionExample(
                    (id != null ? id : "medquad") + "#" + line,
                    question,
                    "",
                    answer,
                    reader.share(v.get("qtype")),
                    reader.share(siteName(v.get("source"))));
        }
    }

    // ---------------------------------------------------------------- locating

    /**
     * Finds the dataset: the system property {@value #PROPERTY}, else the environment variable
     * {@value #ENV} (each a file, or a directory holding {@value #FILE_NAME}), else {@value
     * #SHARED_RELATIVE_PATH} under the working directory or any of its ancestors — which includes
     * {@code ../shared/...} next to the repository root from anywhere inside the repository.
     *
     * @throws DatasetNotFoundException when it is nowhere, or when the property or variable names a
     *     missing file
     */
    public static Path locate() {
        return find().orElseThrow(
                        () ->
                                new DatasetNotFoundException(
                                        notFoundMessage(Path.of("").toAbsolutePath())));
    }

    /**
     * The dataset at an explicit path: the file itself, or a directory holding {@value #FILE_NAME}.
     *
     * @throws DatasetNotFoundException when neither exists
     */
    public static Path locate(Path explicit) {
        return resolve(explicit)
                .orElseThrow(
                        () ->
                                new DatasetNotFoundException(
                                        "MedQuAD not found at "
                                                + explicit.toAbsolutePath()
                                                + " (expected the file "
                                                + FILE_NAME
                                                + " or a directory holding it)"));
    }

    /**
     * Like {@link #locate()}, but empty when the dataset is simply absent (as where {@code
     * ../shared} is not mounted); tests use it to skip.
     *
     * @throws DatasetNotFoundException when the property or variable names a missing file
     */
    public static Optional<Path> find() {
        return find(System.getProperty(PROPERTY), System.getenv(ENV), Path.of(""));
    }

    /** {@link #find()} with the configuration given explicitly; for tests. */
    static Optional<Path> find(String property, String env, Path workingDirectory) {
        if (property != null && !property.isBlank()) {
            return Optional.of(configured("system property " + PROPERTY, property));
        }
        if (env != null && !env.isBlank()) {
            return Optional.of(configured("environment variable " + ENV, env));
        }
        String home = System.getProperty(HOME_PROPERTY);
        if (home != null && !home.isBlank()) {
            Path shipped = Path.of(home).resolve(SHIPPED_RELATIVE_PATH);
            if (Files.isRegularFile(shipped)) {
                return Optional.of(shipped);
            }
        }
        for (Path d = workingDirectory.toAbsolutePath().normalize(); d != null; d = d.getParent()) {
            for (String relative : List.of(SHIPPED_RELATIVE_PATH, SHARED_RELATIVE_PATH)) {
                Path candidate = d.resolve(relative);
                if (Files.isRegularFile(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    private static Path configured(String what, String value) {
        Path p = Path.of(value.trim());
        return resolve(p)
                .orElseThrow(
                        () ->
                                new DatasetNotFoundException(
                                        what
                                                + " is "
                                                + value
                                                + ", but neither that file nor "
                                                + p.resolve(FILE_NAME)
                                                + " exists"));
    }

    private static Optional<Path> resolve(Path p) {
        if (Files.isRegularFile(p)) {
            return Optional.of(p);
        }
        Path inside = p.resolve(FILE_NAME);
        return Files.isRegularFile(inside) ? Optional.of(inside) : Optional.empty();
    }

    static String notFoundMessage(Path workingDirectory) {
        List<String> searched = new ArrayList<>();
        String home = System.getProperty(HOME_PROPERTY);
        if (home != null && !home.isBlank()) {
            searched.add(Path.of(home).resolve(SHIPPED_RELATIVE_PATH).toString());
        }
        for (Path d = workingDirectory.toAbsolutePath().normalize(); d != null; d = d.getParent()) {
            searched.add(d.resolve(SHIPPED_RELATIVE_PATH).toString());
            searched.add(d.resolve(SHARED_RELATIVE_PATH).toString());
        }
        return "MedQuAD not found: FedStream ships it as "
                + SHIPPED_RELATIVE_PATH
                + " (restore it with 'git checkout -- datasets/medquad' in the repository), or set"
                + " the environment variable "
                + ENV
                + " (or system property "
                + PROPERTY
                + ") to the path of "
                + FILE_NAME
                + ". Searched: "
                + String.join(", ", searched);
    }
}
