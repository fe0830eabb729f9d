package io.fedstream.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AlpacaJsonlTest {
    private static final String ALPACA =
            """
            {"instruction": "Give three tips for staying healthy.", "input": "", "output": "1. Eat well."}
            {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"}
            {"instruction": "Name a prime.", "output": "7", "extra": {"nested": [1, 2, {"x": null}]}}
            """;

    private static final String DOLLY =
            """
            {"instruction": "When did Virgin Australia start operating?", "context": "Virgin Australia commenced services on 31 August 2000.", "response": "31 August 2000.", "category": "closed_qa"}
            {"instruction": "Which is a species of fish? Tope or Rope", "context": "", "response": "Tope", "category": "classification"}

            {"instruction": "Why can camels survive long without water?", "context": "", "response": "Fat in their humps.", "category": "open_qa"}
            """;

    @TempDir Path dir;

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    private Path writeGz(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(p))) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
        return p;
    }

    @Test
    void readsAlpacaFieldNames() throws IOException {
        List<InstructionExample> xs = AlpacaJsonl.readAll(write("alpaca.jsonl", ALPACA));
        assertThat(xs).hasSize(3);
        assertThat(xs.get(0).instruction()).isEqualTo("Give three tips for staying healthy.");
        assertThat(xs.get(0).input()).isEmpty();
        assertThat(xs.get(0).output()).isEqualTo("1. Eat well.");
        assertThat(xs.get(1).input()).isEqualTo("Good morning");
        assertThat(xs.get(1).output()).isEqualTo("Bonjour");
        assertThat(xs.get(2).input()).isEmpty(); // missing input
        assertThat(xs).allSatisfy(e -> assertThat(e.category()).isNull());
        assertThat(xs)
                .extracting(InstructionExample::id)
                .containsExactly("alpaca.jsonl:1", "alpaca.jsonl:2", "alpaca.jsonl:3");
    }

    @Test
    void readsDollyFieldNamesFromGzipAndSkipsBlankLines() throws IOException {
        Path gz = writeGz("dolly.jsonl.gz", DOLLY);
        List<InstructionExample> xs = AlpacaJsonl.readAll(gz);
        assertThat(xs).hasSize(3);
        InstructionExample first = xs.get(0);
        assertThat(first.instruction()).isEqualTo("When did Virgin Australia start operating?");
        assertThat(first.input()).startsWith("Virgin Australia commenced");
        assertThat(first.output()).isEqualTo("31 August 2000.");
        assertThat(first.category()).isEqualTo("closed_qa");
        assertThat(xs)
                .extracting(InstructionExample::category)
                .containsExactly("closed_qa", "classification", "open_qa");
        // the blank line still counts: ids and errors use physical line numbers
        assertThat(xs.get(2).id()).isEqualTo("dolly.jsonl.gz:4");
        // gzip and plain give the same examples, up to the id's file name
        List<InstructionExample> plain = AlpacaJsonl.readAll(write("dolly.jsonl", DOLLY));
        assertThat(plain)
                .extracting(InstructionExample::prompt)
                .isEqualTo(xs.stream().map(InstructionExample::prompt).toList());
    }

    @Test
    void keepsIdsSourcesCrlfBomAndNonAsciiText() throws IOException {
        String content =
                "\uFEFF{\"id\": 17, \"instruction\": \"Übersetze\", \"input\": \"naïve café\","
                        + " \"output\": \"naive cafe \uD83D\uDE00\", \"source\": \"site-a\"}\r\n"
                        + "{\"id\": \"x\", \"instruction\": \"i\", \"output\": \"o\", \"input\": null}\r\n";
        List<InstructionExample> xs = AlpacaJsonl.readAll(write("misc.jsonl", content));
        assertThat(xs).hasSize(2);
        assertThat(xs.get(0).id()).isEqualTo("17");
        assertThat(xs.get(0).instruction()).isEqualTo("Übersetze");
        assertThat(xs.get(0).input()).isEqualTo("naïve café");
        assertThat(xs.get(0).output()).isEqualTo("naive cafe \uD83D\uDE00");
        assertThat(xs.get(0).source()).isEqualTo("site-a");
        assertThat(xs.get(1).id()).isEqualTo("x");
        assertThat(xs.get(1).input()).isEmpty();
    }

    @Test
    void aMalformedLineFailsWithFileAndLineNumber() throws IOException {
        Path p =
                write(
                        "broken.jsonl",
                        ALPACA + "{\"instruction\": \"cut off\", \"output\": \"x\"\n" + ALPACA);
        assertThatThrownBy(() -> AlpacaJsonl.readAll(p))
                .isInstanceOfSatisfying(
                        MalformedRecordException.class,
                        e -> {
                            assertThat(e.line()).isEqualTo(4);
                            assertThat(e.file()).isEqualTo(p);
                            assertThat(e.reason()).startsWith("invalid JSON");
                        })
                .hasMessageStartingWith(p + ":4: invalid JSON");
    }

    @Test
    void aMalformedLineInGzipFailsWithItsLineNumber() throws IOException {
        Path p = writeGz("broken.jsonl.gz", DOLLY + "not json at all\n");
        assertThatThrownBy(() -> AlpacaJsonl.readAll(p))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("broken.jsonl.gz:5:");
    }

    @Test
    void missingAndMistypedFieldsAreMalformed() throws IOException {
        Path noOutput = write("a.jsonl", "{\"instruction\": \"x\", \"input\": \"y\"}\n");
        assertThatThrownBy(() -> AlpacaJsonl.readAll(noOutput))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("a.jsonl:1: missing field 'output'");
        Path array = write("b.jsonl", ALPACA + "{\"instruction\": [\"x\"], \"output\": \"o\"}\n");
        assertThatThrownBy(() -> AlpacaJsonl.readAll(array))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("b.jsonl:4: field 'instruction' is an array");
        Path notObject = write("c.jsonl", "[{\"instruction\": \"x\", \"output\": \"o\"}]\n");
        assertThatThrownBy(() -> AlpacaJsonl.readAll(notObject))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("c.jsonl:1: expected a JSON object, found an array");
        Path twoObjects =
                write(
                        "d.jsonl",
                        "{\"instruction\": \"x\", \"output\": \"o\"} {\"instruction\": \"y\"}\n");
        assertThatThrownBy(() -> AlpacaJsonl.readAll(twoObjects))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("d.jsonl:1: found an object after the JSON object");
    }

    @Test
    void invalidUtf8IsMalformedAtItsLine() throws IOException {
        Path p = dir.resolve("latin1.jsonl");
        byte[] good = ALPACA.getBytes(StandardCharsets.UTF_8);
        byte[] bad =
                "{\"instruction\": \"caf\u00e9\", \"output\": \"o\"}\n"
                        .getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[good.length + bad.length];
        System.arraycopy(good, 0, all, 0, good.length);
        System.arraycopy(bad, 0, all, good.length, bad.length);
        Files.write(p, all);
        assertThatThrownBy(() -> AlpacaJsonl.readAll(p))
                .isInstanceOfSatisfying(
                        MalformedRecordException.class, e -> assertThat(e.line()).isEqualTo(4))
                .hasMessageContaining("UTF-8");
    }

    @Test
    void skipModeCountsMalformedLinesAndKeepsTheRest() throws IOException {
        Path p =
                write(
                        "mixed.jsonl",
                        "{\"instruction\": \"a\", \"output\": \"1\"}\n"
                                + "garbage\n"
                                + "{\"instruction\": \"b\", \"output\": \"2\"}\n"
                                + "{\"instruction\": \"c\"}\n"
                                + "{\"instruction\": \"d\", \"response\": \"4\"}\n");
        try (InstructionReader r = AlpacaJsonl.open(p, OnMalformed.SKIP)) {
            List<String> outputs = r.stream().map(InstructionExample::output).toList();
            assertThat(outputs).containsExactly("1", "2", "4");
            assertThat(r.skipped()).isEqualTo(2);
            assertThat(r.linesRead()).isEqualTo(5);
            assertThat(r.examplesRead()).isEqualTo(3);
            assertThat(r.problems())
                    .extracting(MalformedRecordException::line)
                    .containsExactly(2L, 4L);
        }
    }

    @Test
    void streamsLazilyAndClosesWithTheStream() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            sb.append("{\"instruction\": \"q")
                    .append(i)
                    .append("\", \"output\": \"")
                    .append("x".repeat(i % 300))
                    .append("\", \"category\": \"c")
                    .append(i % 3)
                    .append("\"}\n");
        }
        Path p = writeGz("big.jsonl.gz", sb.toString());
        InstructionReader reader = AlpacaJsonl.open(p);
        try (Stream<InstructionExample> s = reader.stream()) {
            assertThat(s.limit(5).map(InstructionExample::instruction).collect(Collectors.toList()))
                    .containsExactly("q0", "q1", "q2", "q3", "q4");
        }
        assertThat(reader.hasNext()).isFalse(); // closed with the stream
        List<InstructionExample> all = AlpacaJsonl.readAll(p);
        assertThat(all).hasSize(10_000);
        // repeated category values are shared, not copied per example
        assertThat(all.get(0).category()).isSameAs(all.get(3).category());
    }

    @Test
    void aTruncatedGzipFileIsAnIoErrorNamingTheFile() throws IOException {
        Path whole = writeGz("whole.jsonl.gz", ALPACA.repeat(200));
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = dir.resolve("cut.jsonl.gz");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> AlpacaJsonl.readAll(cut))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("cut.jsonl.gz");
    }

    @Test
    void aMissingFileIsReported() {
        Path missing = dir.resolve("nope.jsonl");
        assertThatThrownBy(() -> AlpacaJsonl.readAll(missing))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("nope.jsonl");
    }
}
