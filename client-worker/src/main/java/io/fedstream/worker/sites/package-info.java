/**
 * The site-trainer factory ({@link io.fedstream.worker.sites.SiteTrainers}): which trainer and
 * which federation spec a site runs for its options (demo MLP, MiniLM classification, the local
 * run's MiniLM retrieval task, a causal decoder with FedIT or FedPIT), and the retrieval task's
 * definition ({@link io.fedstream.worker.sites.QaRetrieval}) with its answer-embedding cache. The
 * top of the worker: it may use every model package, and none uses it.
 */
package io.fedstream.worker.sites;
