package io.fedstream.schemas;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalChunk;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.GlobalPrompt;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.ClassSecurityValidator;

/**
 * The wire format of every FedStream record: Avro single-object encoding (two marker bytes {@code
 * C3 01}, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer's schema, then the Avro
 * binary body). The fingerprint names the writer's schema without a registry: a decoder knows the
 * current schema of its record type and every earlier version shipped under {@code
 * avro-history/<Record>/v<N>.avsc}, and resolves old records to the current schema by Avro's rules.
 *
 * <p>Decoding never returns garbage: bytes without the marker raise {@link NotAvroException}, an
 * unknown fingerprint {@link UnknownSchemaException}, a body that does not parse {@link
 * MalformedRecordException}.
 */
public final class AvroCodec<T extends SpecificRecord> {

    static {
        trustGeneratedClasses();
    }

    /**
     * Avro 1.12 refuses to instantiate classes from packages it was not told to trust (system
     * property {@code org.apache.avro.SERIALIZABLE_PACKAGES}). Trusts this module's generated
     * package in the current JVM, whatever the property says; idempotent.
     */
    public static synchronized void trustGeneratedClasses() {
        ClassSecurityValidator.ClassSecurityPredicate current = ClassSecurityValidator.getGlobal();
        ClassSecurityValidator.setGlobal(
                ClassSecurityValidator.composite(
                        current,
                        ClassSecurityValidator.builder()
                                .add(AdapterUpdate.class.getPackageName())
                                .build(),
                        cls -> cls.getPackageName().equals(AdapterUpdate.class.getPackageName())));
    }

    public static final AvroCodec<AdapterUpdate> ADAPTER_UPDATE =
            new AvroCodec<>(AdapterUpdate.class, AdapterUpdate.getClassSchema());
    public static final AvroCodec<GlobalModel> GLOBAL_MODEL =
            new AvroCodec<>(GlobalModel.class, GlobalModel.getClassSchema());
    public static final AvroCodec<RejectedUpdate> REJECTED_UPDATE =
            new AvroCodec<>(RejectedUpdate.class, RejectedUpdate.getClassSchema());

    public static final AvroCodec<PromptUpdate> PROMPT_UPDATE =
            new AvroCodec<>(PromptUpdate.class, PromptUpdate.getClassSchema());
    public static final AvroCodec<GlobalPrompt> GLOBAL_PROMPT =
            new AvroCodec<>(GlobalPrompt.class, GlobalPrompt.getClassSchema());
    public static final AvroCodec<UpdateChunk> UPDATE_CHUNK =
            new AvroCodec<>(UpdateChunk.class, UpdateChunk.getClassSchema());
    public static final AvroCodec<UpdateManifest> UPDATE_MANIFEST =
            new AvroCodec<>(UpdateManifest.class, UpdateManifest.getClassSchema());
    public static final AvroCodec<GlobalChunk> GLOBAL_CHUNK =
            new AvroCodec<>(GlobalChunk.class, GlobalChunk.getClassSchema());
    public static final AvroCodec<io.fedstream.schemas.avro.PrivacyLedger> PRIVACY_LEDGER =
            new AvroCodec<>(
                    io.fedstream.schemas.avro.PrivacyLedger.class,
                    io.fedstream.schemas.avro.PrivacyLedger.getClassSchema());

    private final Class<T> type;
    private final java.util.Set<Long> fingerprints = new java.util.HashSet<>();
    private final Schema schema;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;
    private final List<Schema> history;

    private AvroCodec(Class<T> type, Schema schema) {
        this.type = type;
        this.schema = schema;
        SpecificData model = new SpecificData(type.getClassLoader());
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        this.decoder = new BinaryMessageDecoder<>(model, schema);
        this.history = loadHistory(type.getSimpleName());
        fingerprints.add(org.apache.avro.SchemaNormalization.parsingFingerprint64(schema));
        for (Schema old : history) {
            decoder.addSchema(old);
            fingerprints.add(org.apache.avro.SchemaNormalization.parsingFingerprint64(old));
        }
    }

    /**
     * Whether {@code bytes} are single-object encoded with this record type's current schema or one
     * of its frozen earlier ones: lets one topic carry several record types (the updates topic
     * carries AdapterUpdate, UpdateChunk and UpdateManifest; the global-models topic GlobalModel
     * and GlobalChunk). Looks at the 10-byte header only.
     */
    public boolean accepts(byte[] bytes) {
        if (bytes == null || bytes.length < 10 || bytes[0] != (byte) 0xC3 || bytes[1] != 0x01) {
            return false;
        }
        long fp = ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        return fingerprints.contains(fp);
    }

    /** The record type's current (writer) schema. */
    public Schema schema() {
        return schema;
    }

    /** Earlier versions of the schema this decoder still reads, oldest first. */
    public List<Schema> history() {
        return history;
    }

    public Class<T> type() {
        return type;
    }

    public byte[] encode(T record) {
        try {
            ByteBuffer buf = encoder.encode(record);
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + type.getSimpleName(), e);
        }
    }

    public T decode(byte[] bytes) {
        if (bytes == null || bytes.length < 10) {
            throw new NotAvroException(
                    "record of "
                            + (bytes == null ? "null" : bytes.length + " bytes")
                            + " is too short for Avro single-object encoding");
        }
        try {
            return decoder.decode(bytes);
        } catch (BadHeaderException e) {
            throw new NotAvroException("no Avro single-object header (C3 01): " + e.getMessage());
        } catch (MissingSchemaException e) {
            throw new UnknownSchemaException(
                    "writer schema not known to this "
                            + type.getSimpleName()
                            + " decoder: "
                            + e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new MalformedRecordException(
                    "not a valid "
                            + type.getSimpleName()
                            + ": "
                            + e.getClass().getSimpleName()
                            + ": "
                            + e.getMessage());
        }
    }

    private static List<Schema> loadHistory(String recordName) {
        List<Schema> out = new ArrayList<>();
        for (int v = 1; ; v++) {
            String path = "/avro-history/" + recordName + "/v" + v + ".avsc";
            try (InputStream in = AvroCodec.class.getResourceAsStream(path)) {
                if (in == null) {
                    return out;
                }
                out.add(
                        new Schema.Parser()
                                .parse(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path, e);
            }
        }
    }

    /** Bytes that are not Avro single-object encoded at all. */
    public static class DecodeException extends RuntimeException {
        DecodeException(String message) {
            super(message);
        }
    }

    public static final class NotAvroException extends DecodeException {
        NotAvroException(String message) {
            super(message);
        }
    }

    public static final class UnknownSchemaException extends DecodeException {
        UnknownSchemaException(String message) {
            super(message);
        }
    }

    public static final class MalformedRecordException extends DecodeException {
        MalformedRecordException(String message) {
            super(message);
        }
    }
}
