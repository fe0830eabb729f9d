package io.fedstream.worker.data;

/** What a reader does with a line it cannot turn into an example. */
public enum OnMalformed {
    /** Throw a {@link MalformedRecordException} naming the file and line (the default). */
    FAIL,
    /** Skip the line, count it, and keep the first few problems for {@link InstructionReader}. */
    SKIP
}
