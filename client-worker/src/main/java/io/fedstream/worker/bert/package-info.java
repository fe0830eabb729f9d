/**
 * The BERT encoder (all-MiniLM-L6-v2 from its ONNX file or a Hugging Face checkpoint) with LoRA,
 * written op by op on DJL: {@link io.fedstream.worker.bert.LoraBert} (the encoder's adapter model),
 * tokenised batches, and its two site trainers: {@link io.fedstream.worker.bert.BertSiteTrainer}
 * (classification) and {@link io.fedstream.worker.bert.RetrievalSiteTrainer} (question-to-answer
 * retrieval).
 */
package io.fedstream.worker.bert;
