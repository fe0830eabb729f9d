/**
 * Causal decoders (GPT-2, Llama, Qwen2, Mistral families) from local Hugging Face checkpoints with
 * LoRA, written op by op on DJL: {@link io.fedstream.worker.decoder.LoraCausalLm} (the decoder's
 * adapter model), answer-only loss batches, chat templates, greedy generation, and the FedIT site
 * trainer {@link io.fedstream.worker.decoder.CausalLmSiteTrainer}.
 */
package io.fedstream.worker.decoder;
