package io.fedstream.job.adapter;

import io.fedstream.schemas.avro.GlobalModel;
import java.io.Serializable;
import java.util.Optional;

/**
 * Finds the newest published global version of a federation, so that a job started without state
 * continues an existing federation instead of publishing a second version 0.
 */
@FunctionalInterface
public interface LatestVersionLookup extends Serializable {
    Optional<GlobalModel> latest(String federationId);

    /** For a job that always starts federations afresh (tests). */
    static LatestVersionLookup none() {
        return federationId -> Optional.empty();
    }
}
