package io.fedstream.job.adapter;

import io.fedstream.job.FedStreamOptions;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the operators get the job secret that keys the DP noise ({@link
 * FedStreamOptions#PRIVACY_SECRET_FILE}). The job graph carries only this reference: the file is
 * read where the operator opens, so the secret is not in the job's serialized graph.
 */
@FunctionalInterface
public interface JobSecret extends Serializable {
    /** At least 16 bytes. */
    byte[] read();

    /** The secret is the whole content of {@code file}. */
    static JobSecret file(String file) {
        return () -> {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(Path.of(file));
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "cannot read the privacy secret file " + file + ": " + e.getMessage(), e);
            }
            if (bytes.length < 16) {
                throw new IllegalArgumentException(
                        "the privacy secret file "
                                + file
                                + " has "
                                + bytes.length
                                + " bytes; it needs at least 16 (e.g. head -c 32 /dev/urandom)");
            }
            return bytes;
        };
    }
}
