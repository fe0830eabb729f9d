package io.fedstream.worker.data;

/** A dataset that lives outside the repository (e.g. under {@code ../shared}) was not found. */
public final class DatasetNotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DatasetNotFoundException(String message) {
        super(message);
    }
}
