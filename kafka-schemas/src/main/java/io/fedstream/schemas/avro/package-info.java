/**
 * The record classes generated from {@code src/main/avro/*.avsc}: every record on every FedStream
 * topic ({@code AdapterUpdate}, {@code UpdateChunk}, {@code UpdateManifest}, {@code GlobalModel},
 * {@code GlobalChunk}, {@code RejectedUpdate}, {@code PrivacyLedger}, {@code PromptUpdate}, {@code
 * GlobalPrompt}) and their parts.
 *
 * <p><b>Frozen name.</b> The namespace {@code io.fedstream.schemas.avro} is part of each schema's
 * full name and so of every record's fingerprint: renaming this package makes every record already
 * on the topics unreadable. Schemas change only compatibly, each released version kept under {@code
 * avro-history/} and checked by {@code AvroCodecTest}.
 */
package io.fedstream.schemas.avro;
