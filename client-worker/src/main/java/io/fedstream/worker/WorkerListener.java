package io.fedstream.worker;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;

/** Progress callbacks of a {@link Worker}, called on the worker's thread. */
public interface WorkerListener {
    WorkerListener NONE = new WorkerListener() {};

    /** A newer global version arrived and was evaluated on the site's held-out data. */
    default void onGlobalVersion(String siteId, GlobalModel model, SiteTrainer.EvalResult eval) {}

    /** An update was written to Kafka (acknowledged by the brokers). */
    default void onUpdatePublished(AdapterUpdate update, SiteTrainer.TrainResult result) {}

    /**
     * The job rejected one of this site's updates (or a record sent in its name): the dead letter
     * from the site's feedback topic, with reason code and detail. Called on the feedback thread.
     */
    default void onRejected(String siteId, RejectedUpdate rejection) {}

    /** The worker stopped: after {@code published} updates; {@code failure} null if asked to. */
    default void onStopped(String siteId, int published, Throwable failure) {}
}
