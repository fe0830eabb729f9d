/**
 * FedStream's protocol: the wire format of every record on every topic and the rules both ends
 * apply to it. {@link io.fedstream.schemas.AvroCodec} (single-object encoding, fingerprints, the
 * frozen schema history under {@code avro-history/}), {@link io.fedstream.schemas.FederationSpec}
 * and {@link io.fedstream.schemas.TensorSpec} (what a federation's adapter is), {@link
 * io.fedstream.schemas.TensorCodec}, chunking ({@link io.fedstream.schemas.ChunkLayout}, {@link
 * io.fedstream.schemas.UpdateChunking}, {@link io.fedstream.schemas.GlobalModelAssembler}), signing
 * ({@link io.fedstream.schemas.UpdateSigning}, {@link io.fedstream.schemas.SiteKeys}), privacy
 * ({@link io.fedstream.schemas.PrivacySpec}), the default topic names ({@link
 * io.fedstream.schemas.Topics}) and an update's identity ({@link io.fedstream.schemas.UpdateKey}).
 *
 * <p>The Kafka-specific part of the contract (ACLs, client ids, reading a topic) is in {@link
 * io.fedstream.schemas.kafka}; the generated record classes are in {@link
 * io.fedstream.schemas.avro}.
 */
package io.fedstream.schemas;
