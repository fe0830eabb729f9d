package io.fedstream.lab.options;

import io.fedstream.worker.djl.DjlRuntime;
import picocli.CommandLine.Option;

/** {@code --threads}: PyTorch's intra-op threads of a benchmark that trains with DJL. */
public final class TorchThreadsOption {
    @Option(
            names = "--threads",
            description = "PyTorch intra-op threads (default: the worker's, 1; see DjlRuntime).")
    Integer threads;

    /** Sets the threads, if given; call before the engine starts (DjlRuntime keeps set values). */
    public void apply() {
        if (threads != null) {
            System.setProperty(DjlRuntime.NUM_THREADS, Integer.toString(threads));
        }
    }
}
