/**
 * FedDTPT's prompt merge, without Flink: token embeddings, similarity attention over the sites'
 * prompts, clustering of the attended tokens (DBSCAN with elbow-chosen eps, or spherical k-means;
 * own code, checked against scikit-learn) and the embedding-average baseline. The prompt job calls
 * {@link io.fedstream.aggregation.prompt.PromptMerge}.
 */
package io.fedstream.aggregation.prompt;
