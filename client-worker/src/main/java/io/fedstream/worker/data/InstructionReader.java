package io.fedstream.worker.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import java.util.zip.GZIPInputStream;

/**
 * A streaming reader of instruction examples from a JSON-lines file, plain or gzip-compressed
 * (detected from the file's first bytes, so {@code .jsonl.gz} and {@code .jsonl} both work).
 *
 * <p>Only one line is held in memory at a time; each line is parsed with Jackson's streaming parser
 * straight from its UTF-8 bytes, keeping only the fields the format needs. Values of
 * low-cardinality fields (category, source) are shared between examples. Blank lines are ignored. A
 * line that is not a JSON object, is not valid UTF-8, or lacks a required field is malformed: with
 * {@link OnMalformed#FAIL} reading stops with a {@link MalformedRecordException} naming the file
 * and line; with {@link OnMalformed#SKIP} the line is counted in {@link #skipped()} and the first
 * {@value #MAX_PROBLEMS} problems are kept in {@link #problems()}.
 *
 * <p>I/O errors (including a truncated gzip stream) surface as {@link UncheckedIOException}s naming
 * the file and the last line read. Not thread-safe; close it (or the {@link #stream()}) when done.
 */
public final class InstructionReader implements Iterator<InstructionExample>, Closeable {
    /** How many problems {@link #problems()} keeps when skipping malformed lines. */
    public static final int MAX_PROBLEMS = 20;

    private static final JsonFactory JSON = new JsonFactory();
    private static final int CHUNK = 1 << 16;

    /** Maps the extracted fields of one JSON object to an example. */
    interface Format {
        /** The top-level field names to extract; all others are skipped unread. */
        Set<String> fields();

        /**
         * Builds the example, or throws {@link BadRecord} with the reason it cannot.
         *
         * @param values the extracted fields present in the object with non-null values
         * @param line the 1-based line number, for formats that derive ids from it
         * @param reader for {@link InstructionReader#share(String)}
         */
        InstructionExample toExample(
                Map<String, String> values, long line, InstructionReader reader) throws BadRecord;
    }

    /** Why a record could not be mapped; becomes a {@link MalformedRecordException}. */
    static final class BadRecord extends Exception {
        private static final long serialVersionUID = 1L;

        BadRecord(String reason) {
            super(reason, null, false, false);
        }
    }

    private final Path file;
    private final Format format;
    private final OnMalformed onMalformed;
    private final InputStream in;
    private final Map<String, String> shared = new HashMap<>();
    private final List<MalformedRecordException> problems = new ArrayList<>();

    private final byte[] chunk = new byte[CHUNK];
    private int pos;
    private int limit;
    private byte[] line = new byte[4096];
    private int lineLength;

    private long lineNumber;
    private long examples;
    private long skipped;
    private InstructionExample next;
    private boolean done;
    private boolean closed;

    InstructionReader(Path file, Format format, OnMalformed onMalformed) throws IOException {
        this.file = Objects.requireNonNull(file, "file");
        this.format = Objects.requireNonNull(format, "format");
        this.onMalformed = Objects.requireNonNull(onMalformed, "onMalformed");
        this.in = open(file);
    }

    /** Reads all of {@code file} in {@code format}; a file that cannot be opened is unchecked. */
    static List<InstructionExample> readAll(Path file, Format format, OnMalformed onMalformed) {
        try {
            return new InstructionReader(file, format, onMalformed).readAll();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    private static InputStream open(Path file) throws IOException {
        PushbackInputStream raw = new PushbackInputStream(Files.newInputStream(file), 2);
        try {
            byte[] magic = raw.readNBytes(2);
            raw.unread(magic);
            if (magic.length == 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
                return new GZIPInputStream(raw, CHUNK);
            }
            return raw;
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /** The file being read. */
    public Path file() {
        return file;
    }

    /** Lines read so far, blank and malformed ones included. */
    public long linesRead() {
        return lineNumber;
    }

    /** Examples returned so far. */
    public long examplesRead() {
        return examples;
    }

    /** Malformed lines skipped so far (always 0 with {@link OnMalformed#FAIL}). */
    public long skipped() {
        return skipped;
    }

    /** The first {@value #MAX_PROBLEMS} malformed lines skipped, each naming its line. */
    public List<MalformedRecordException> problems() {
        return Collections.unmodifiableList(problems);
    }

    @Override
    public boolean hasNext() {
        if (next == null && !done) {
            next = advance();
            done = next == null;
        }
        return next != null;
    }

    @Override
    public InstructionExample next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        InstructionExample e = next;
        next = null;
        examples++;
        return e;
    }

    /** The remaining examples as a sequential stream; closing the stream closes this reader. */
    public Stream<InstructionExample> stream() {
        return StreamSupport.stream(
                        Spliterators.spliteratorUnknownSize(
                                this, Spliterator.ORDERED | Spliterator.NONNULL),
                        false)
                .onClose(this::closeUnchecked);
    }

    /** Reads the remaining examples into a list and closes the reader. */
    public List<InstructionExample> readAll() {
        try (this) {
            List<InstructionExample> all = new ArrayList<>();
            forEachRemaining(all::add);
            return all;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Returns the shared instance equal to {@code value}, for repeated values. */
    String share(String value) {
        return value == null ? null : shared.computeIfAbsent(value, v -> v);
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            done = true;
            next = null;
            in.close();
        }
    }

    private void closeUnchecked() {
        try {
            close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + file, e);
        }
    }

    private InstructionExample advance() {
        if (closed) {
            return null;
        }
        try {
            while (readLine()) {
                lineNumber++;
                int start = 0;
                int end = lineLength;
                if (lineNumber == 1
                        && end >= 3
                        && (line[0] & 0xff) == 0xef
                        && (line[1] & 0xff) == 0xbb
                        && (line[2] & 0xff) == 0xbf) {
                    start = 3; // UTF-8 byte order mark
                }
                while (end > start && isJsonSpace(line[end - 1])) {
                    end--;
                }
                while (start < end && isJsonSpace(line[start])) {
                    start++;
                }
                if (start == end) {
                    continue;
                }
                try {
                    return parse(start, end);
                } catch (BadRecord e) {
                    malformed(e.getMessage(), null);
                } catch (JsonProcessingException e) {
                    String where =
                            e.getLocation() == null
                                    ? ""
                                    : " at column " + e.getLocation().getColumnNr();
                    malformed("invalid JSON" + where + ": " + e.getOriginalMessage(), e);
                }
            }
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    file + ": read failed after line " + lineNumber + ": " + e.getMessage(), e);
        }
    }

    private void malformed(String reason, Throwable cause) {
        MalformedRecordException e = new MalformedRecordException(file, lineNumber, reason, cause);
        if (onMalformed == OnMalformed.FAIL) {
            closeUnchecked();
            throw e;
        }
        skipped++;
        if (problems.size() < MAX_PROBLEMS) {
            problems.add(e);
        }
    }

    private InstructionExample parse(int start, int end) throws IOException, BadRecord {
        Set<String> wanted = format.fields();
        Map<String, String> values = new HashMap<>();
        try (JsonParser p = JSON.createParser(line, start, end - start)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new BadRecord("expected a JSON object, found " + describe(p.currentToken()));
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (!wanted.contains(name)) {
                    p.skipChildren();
                } else if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
                    throw new BadRecord(
                            "field '" + name + "' is " + describe(v) + ", expected a string");
                } else if (v == JsonToken.VALUE_NULL) {
                    values.remove(name);
                } else {
                    values.put(name, p.getText());
                }
            }
            if (t != JsonToken.END_OBJECT) {
                throw new BadRecord("found " + describe(t) + " where a field name was expected");
            }
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                throw new BadRecord("found " + describe(trailing) + " after the JSON object");
            }
        }
        return format.toExample(values, lineNumber, this);
    }

    private static String describe(JsonToken t) {
        if (t == null) {
            return "end of line";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.asString() == null ? t.name() : "'" + t.asString() + "'";
        };
    }

    private static boolean isJsonSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\n';
    }

    /** Reads the next line (without its '\n') into {@code line}; false at end of input. */
    private boolean readLine() throws IOException {
        lineLength = 0;
        boolean any = false;
        while (true) {
            if (pos == limit) {
                int n = in.read(chunk, 0, chunk.length);
                if (n <= 0) {
                    pos = limit = 0;
                    return any;
                }
                pos = 0;
                limit = n;
            }
            any = true;
            int from = pos;
            while (pos < limit && chunk[pos] != '\n') {
                pos++;
            }
            append(from, pos - from);
            if (pos < limit) {
                pos++; // the '\n'
                return true;
            }
        }
    }

    private void append(int from, int n) {
        if (lineLength + n > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, lineLength + n));
        }
        System.arraycopy(chunk, from, line, lineLength, n);
        lineLength += n;
    }
}
