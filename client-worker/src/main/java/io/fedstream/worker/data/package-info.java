/**
 * Site data without a model: instruction datasets (MedQuAD, Alpaca/Dolly JSON lines, IMDB),
 * partitions of examples into sites (by a field, by a Dirichlet draw over labels) and their
 * statistics, and the seeded sampling every package draws with.
 */
package io.fedstream.worker.data;
