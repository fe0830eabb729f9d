/**
 * The lab: {@link io.fedstream.lab.LabMain}, the {@code ./fedstream} command line with the
 * experiments and benchmarks added to fedstream-cli's operational commands. Nothing here is part of
 * a site's image.
 */
package io.fedstream.lab;
