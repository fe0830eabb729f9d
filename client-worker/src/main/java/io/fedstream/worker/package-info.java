/**
 * The site worker: the Kafka loop ({@link io.fedstream.worker.Worker}) that follows the
 * federation's global versions, trains and publishes updates; the {@link
 * io.fedstream.worker.SiteTrainer} SPI every model implements; its configuration, listener, local
 * differential privacy, site feedback and health endpoints; and {@link
 * io.fedstream.worker.Adapters} (arithmetic on adapters as name → values maps, the SPI's currency).
 * Depends on no other package of the worker: the models depend on it, not the reverse.
 */
package io.fedstream.worker;
