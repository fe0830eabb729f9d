/**
 * Research code on the decoder that is not part of a site's training: decoder pretraining for the
 * experiments. Leaves client-worker for fedstream-lab.
 */
package io.fedstream.worker.model;
