/**
 * Research aggregation of LoRA factors: product averaging (the exact mean of the products {@code
 * B·A} re-factored by SVD), factor averaging, frozen-A, stacking, and their measurements. Used by
 * {@code ./fedstream experiment fedit}; the job aggregates flat tensors and uses none of it.
 */
package io.fedstream.lab.lora;
