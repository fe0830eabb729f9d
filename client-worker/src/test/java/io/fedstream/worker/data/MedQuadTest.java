package io.fedstream.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MedQuadTest {
    /** Per-source counts from ../shared/datasets/medquad/README.md. */
    private static final Map<String, Long> README_COUNTS =
            Map.of(
                    "GHR", 5430L,
                    "GARD", 5389L,
                    "NIDDK", 1192L,
                    "NINDS", 1088L,
                    "MedlinePlus Health Topics", 981L,
                    "SeniorHealth", 769L,
                    "CancerGov", 729L,
                    "NHLBI", 559L,
                    "CDC", 270L);

    @TempDir Path dir;

    private static Path realFileOrSkip() {
        Optional<Path> file = MedQuad.find();
        Assumptions.assumeTrue(
                file.isPresent(), "MedQuAD is not available here (../shared not mounted)");
        return file.get();
    }

    @Test
    void readsTheRealDatasetWithTheReadmeCounts() {
        Path file = realFileOrSkip();
        List<InstructionExample> xs = MedQuad.readAll(file);

        assertThat(xs).hasSize(16_407);
        Map<String, Long> perSource =
                xs.stream()
                        .collect(
                                Collectors.groupingBy(
                                        InstructionExample::source,
                                        TreeMap::new,
                                        Collectors.counting()));
        assertThat(perSource).isEqualTo(new TreeMap<>(README_COUNTS));
        assertThat(xs.stream().map(InstructionExample::category).distinct()).hasSize(16);
        assertThat(xs.stream().map(InstructionExample::category))
                .contains("information", "symptoms", "treatment");
        assertThat(xs.stream().map(InstructionExample::id).distinct()).hasSize(xs.size());
        assertThat(xs)
                .allSatisfy(
                        e -> {
                            assertThat(e.instruction()).isNotBlank();
                            assertThat(e.output()).isNotBlank();
                            assertThat(e.input()).isEmpty();
                        });

        InstructionExample first = xs.get(0);
        assertThat(first.id()).isEqualTo("0000001_1-1#1");
        assertThat(first.source()).isEqualTo("CancerGov");
        assertThat(first.instruction())
                .isEqualTo("What is (are) Adult Acute Lymphoblastic Leukemia ?");
        assertThat(first.prompt()).startsWith("### Instruction:\nWhat is (are) Adult Acute");

        Partition bySource = ByField.of("source").partition(xs);
        assertThat(bySource.names())
                .containsExactly(
                        "GHR",
                        "GARD",
                        "NIDDK",
                        "NINDS",
                        "MedlinePlus Health Topics",
                        "SeniorHealth",
                        "CancerGov",
                        "NHLBI",
                        "CDC");
        System.out.println(bySource.table("qtype"));
    }

    @Test
    void mapsMedQuadFieldsAndTheSourceNames() throws IOException {
        Path p = dir.resolve("mini.jsonl");
        Files.writeString(
                p,
                """
                {"id": "0000001_1-1", "source": "3_GHR_QA", "question": "What is X ?", "answer": "X is a condition.", "qtype": "information", "focus": "X", "document": "https://example.org/x"}
                {"id": "0000001_1-1", "source": "4_MPlus_Health_Topics_QA", "question": "What causes X ?", "answer": "Genes.", "qtype": "causes", "focus": "X", "document": null}
                {"id": "7", "source": "10_New_Site_QA", "question": "Q?", "answer": "A.", "qtype": "outlook"}
                """);
        List<InstructionExample> xs = MedQuad.readAll(p);
        assertThat(xs)
                .extracting(InstructionExample::source)
                .containsExactly("GHR", "MedlinePlus Health Topics", "New Site");
        assertThat(xs)
                .extracting(InstructionExample::category)
                .containsExactly("information", "causes", "outlook");
        assertThat(xs)
                .extracting(InstructionExample::id)
                .containsExactly("0000001_1-1#1", "0000001_1-1#2", "7#3");
        assertThat(xs.get(0).instruction()).isEqualTo("What is X ?");
        assertThat(xs.get(0).output()).isEqualTo("X is a condition.");
    }

    @Test
    void aRecordWithoutAnAnswerIsMalformed() throws IOException {
        Path p = dir.resolve("bad.jsonl");
        Files.writeString(
                p,
                "{\"id\": \"1\", \"question\": \"Q?\", \"answer\": \"A\"}\n"
                        + "{\"id\": \"2\", \"question\": \"Q?\"}\n");
        assertThatThrownBy(() -> MedQuad.readAll(p))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("bad.jsonl:2: missing field 'answer'");
        assertThat(MedQuad.readAll(p, OnMalformed.SKIP)).hasSize(1);
    }

    @Test
    void locatorWalksUpToSharedNextToTheRepositoryRoot() throws IOException {
        Path data = dir.resolve(MedQuad.SHARED_RELATIVE_PATH);
        Files.createDirectories(data.getParent());
        Files.writeString(data, "");
        Path deep = Files.createDirectories(dir.resolve("repo/client-worker/target"));

        assertThat(MedQuad.find(null, null, deep)).contains(data.toAbsolutePath().normalize());
        assertThat(MedQuad.find(null, null, dir.resolve("repo")))
                .contains(data.toAbsolutePath().normalize());
    }

    @Test
    void explicitConfigurationWinsAndMayNameTheDirectory() throws IOException {
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path file = Files.writeString(elsewhere.resolve(MedQuad.FILE_NAME), "");
        Path cwd = Files.createDirectories(dir.resolve("nowhere"));

        assertThat(MedQuad.find(null, file.toString(), cwd)).contains(file);
        assertThat(MedQuad.find(null, elsewhere.toString(), cwd)).contains(file);
        assertThat(MedQuad.find(elsewhere.toString(), "/does/not/matter", cwd)).contains(file);
        assertThat(MedQuad.locate(elsewhere)).isEqualTo(file);
    }

    @Test
    void absentDatasetGivesAClearMessage() throws IOException {
        Path cwd = Files.createDirectories(dir.resolve("repo/module"));
        assertThat(MedQuad.find(null, null, cwd)).isEmpty();
        assertThat(MedQuad.notFoundMessage(cwd))
                .contains("MedQuAD not found")
                .contains(MedQuad.ENV)
                .contains(dir.resolve("repo").resolve(MedQuad.SHARED_RELATIVE_PATH).toString());

        String missing = dir.resolve("missing.jsonl.gz").toString();
        assertThatThrownBy(() -> MedQuad.find(null, missing, cwd))
                .isInstanceOf(DatasetNotFoundException.class)
                .hasMessageContaining(MedQuad.ENV)
                .hasMessageContaining(missing);
        assertThatThrownBy(() -> MedQuad.locate(dir.resolve("nothing-here")))
                .isInstanceOf(DatasetNotFoundException.class)
                .hasMessageContaining("nothing-here");
    }
}
