package io.fedstream.worker.data;

import java.util.List;
import java.util.Objects;

/** One federated site's examples. */
public record Site(String name, List<InstructionExample> examples) {
    public Site {
        Objects.requireNonNull(name, "name");
        examples = List.copyOf(examples);
    }

    /** The number of examples. */
    public int size() {
        return examples.size();
    }
}
