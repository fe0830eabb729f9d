package io.fedstream.worker;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;

/** Progress callbacks of a {@link Worker}, called on the worker's thread. */
public interface WorkerListener {
    WorkerListener NONE = new WorkerListener() {};

    /** A newer global version arrived and was evaluated on the site's held-out data. */
    default void onGlobalVersion(String siteId, GlobalModel model, SiteTrainer.EvalResult eval) {}

    /** An update was written to Kafka (acknowledged by the brokers). */
    default void onUpdatePublished(AdapterUpdate update, SiteTrainer.TrainResult result) {}
}
