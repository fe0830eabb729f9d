/**
 * The DJL runtime every model shares: the engine and its gradient lock ({@link
 * io.fedstream.worker.djl.DjlRuntime}), the per-round Adam, libtorch-owned arrays, frozen tensors
 * ({@link io.fedstream.worker.djl.Weight}), the shared layers (LoRA dense, layer and RMS norms) and
 * the one adapter-model base ({@link io.fedstream.worker.djl.AdapterModel}) the encoder and the
 * decoder extend: adapter exchange by name and one Adam training at a time, and the base of the
 * site trainers over it ({@link io.fedstream.worker.djl.AdapterSiteTrainer}). Knows no model.
 */
package io.fedstream.worker.djl;
