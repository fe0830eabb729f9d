/**
 * The FedDTPT prompt job ({@link io.fedstream.job.prompt.PromptAggregationJob}): its options,
 * validation of prompt updates and the lookup of the newest published prompt. Its round function,
 * {@link io.fedstream.job.PromptRoundAggregator}, is in {@link io.fedstream.job} because its state
 * classes' names are inside savepoints.
 */
package io.fedstream.job.prompt;
