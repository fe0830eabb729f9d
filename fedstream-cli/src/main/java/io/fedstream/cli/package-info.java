/**
 * The operational {@code ./fedstream} commands, what a site's image runs: {@code local} (the whole
 * system in one process: broker, job, workers, report), {@code job} and {@code prompt-job} (the
 * Flink jobs in a local runtime), {@code worker} and {@code prompt-worker} (one site), {@code
 * spec}, {@code keygen}, {@code audit}, {@code ledger}, {@code rejections}, {@code report}, {@code
 * cluster}, {@code generate}, {@code kafka}, {@code prompt-embeddings}. {@link
 * io.fedstream.cli.Main} builds the command line; errors are one line ({@link
 * io.fedstream.cli.Errors}). Experiments and benchmarks live in the {@code fedstream-lab} module.
 */
package io.fedstream.cli;
