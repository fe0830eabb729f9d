package io.fedstream.job;

import io.fedstream.schemas.avro.GlobalPrompt;
import java.io.Serializable;
import java.util.Optional;

/**
 * Finds the newest published global prompt of a federation, so that a prompt job started without
 * state continues it instead of publishing a second version 0.
 */
@FunctionalInterface
public interface PromptVersionLookup extends Serializable {
    Optional<GlobalPrompt> latest(String federationId);

    /** For a job that always starts federations afresh (tests). */
    static PromptVersionLookup none() {
        return federationId -> Optional.empty();
    }
}
