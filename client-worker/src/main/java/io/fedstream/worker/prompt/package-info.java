/**
 * FedDTPT's site side, the worker's second training mode: black-box prompt tuning against a model
 * reached only through its outputs (an OpenAI-compatible server or a local encoder classifier), and
 * its Kafka loop ({@link io.fedstream.worker.prompt.PromptWorker}).
 */
package io.fedstream.worker.prompt;
