package io.fedstream.worker.data;

import java.nio.file.Path;

/** A line of a data file that is not a valid record; names the file and the 1-based line. */
public final class MalformedRecordException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long line;
    private final String reason;

    public MalformedRecordException(Path file, long line, String reason, Throwable cause) {
        super(file + ":" + line + ": " + reason, cause);
        this.file = file;
        this.line = line;
        this.reason = reason;
    }

    /** The file the line is in. */
    public Path file() {
        return file;
    }

    /** The 1-based line number. */
    public long line() {
        return line;
    }

    /** What is wrong with the line, without the file and line prefix. */
    public String reason() {
        return reason;
    }
}
