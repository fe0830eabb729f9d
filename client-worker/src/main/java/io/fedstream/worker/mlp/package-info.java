/**
 * The demo task: LoRA on a small frozen MLP over generated classification data, split among the
 * sites by a Dirichlet draw ({@link io.fedstream.worker.mlp.DemoFederation}), trained by {@link
 * io.fedstream.worker.mlp.MlpSiteTrainer}. What {@code ./fedstream worker} runs by default.
 */
package io.fedstream.worker.mlp;
