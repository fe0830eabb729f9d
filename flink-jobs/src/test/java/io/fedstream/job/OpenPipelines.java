package io.fedstream.job;

import java.util.ArrayList;
import java.util.List;

/** The pipelines a test opened, closed after it ({@code @AutoClose} on the test's field). */
final class OpenPipelines implements AutoCloseable {
    private final List<Pipeline> open = new ArrayList<>();

    /** Registers {@code p} to be closed after the test, and returns it. */
    Pipeline add(Pipeline p) {
        open.add(p);
        return p;
    }

    @Override
    public void close() throws Exception {
        for (Pipeline p : open) {
            p.close();
        }
    }
}
