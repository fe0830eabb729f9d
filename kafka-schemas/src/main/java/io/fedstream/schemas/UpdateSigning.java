package io.fedstream.schemas;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Signature;
import io.fedstream.schemas.avro.TensorInfo;
import io.fedstream.schemas.avro.UpdateManifest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.HexFormat;

/**
 * Signing and verifying updates with Ed25519 (in the JDK).
 *
 * <p>The signed message is {@code "fedstream-update-v1\0"}, then update id, federation id and site
 * id (UTF-8, each followed by a zero byte), base version and example count (8 bytes little-endian
 * each), and the 32-byte SHA-256 of the tensors as {@link TensorCodec#sha256} defines it (names,
 * shapes, dtypes and data, in order). Metrics and the creation time are informational and not
 * signed. SHA-256 is the digest because it is the fastest cryptographic hash in the JDK on CPUs
 * with SHA extensions (1.60 GB/s against 0.76 GB/s for SHA-512 in {@code ./fedstream bench
 * digest}); see docs/benchmarks.md.
 *
 * <p>A chunked update is signed through its {@link UpdateManifest}: the message is {@code
 * "fedstream-manifest-v1\0"}, the three ids as above, base version and example count, then chunk
 * elements and tensor count (4-byte little-endian ints), each tensor's name (UTF-8, zero byte),
 * rank, dimensions and dtype ordinal, the chunk count and the 32 bytes of every chunk digest. The
 * job checks every chunk against its digest, so the signature covers the data.
 */
public final class UpdateSigning {
    public static final String ALGORITHM = "Ed25519";
    private static final byte[] DOMAIN = "fedstream-update-v1\0".getBytes(StandardCharsets.UTF_8);
    private static final byte[] MANIFEST_DOMAIN =
            "fedstream-manifest-v1\0".getBytes(StandardCharsets.UTF_8);

    private UpdateSigning() {}

    /** The canonical message an update's signature covers. */
    public static byte[] message(AdapterUpdate u) {
        return message(u, HexFormat.of().parseHex(TensorCodec.sha256(u.getTensors())));
    }

    /**
     * The canonical message with the tensors' SHA-256 ({@link TensorCodec#sha256}, 32 bytes) given
     * rather than computed, for a sender that already has it (the benchmark's sites reuse one
     * digest per pre-generated delta).
     */
    public static byte[] message(AdapterUpdate u, byte[] digest) {
        byte[] id = (u.getUpdateId() + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] fed = (u.getFederationId() + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] site = (u.getSiteId() + "\0").getBytes(StandardCharsets.UTF_8);
        ByteBuffer b =
                ByteBuffer.allocate(
                                DOMAIN.length
                                        + id.length
                                        + fed.length
                                        + site.length
                                        + 16
                                        + digest.length)
                        .order(ByteOrder.LITTLE_ENDIAN);
        b.put(DOMAIN)
                .put(id)
                .put(fed)
                .put(site)
                .putLong(u.getBaseVersion())
                .putLong(u.getNumExamples())
                .put(digest);
        return b.array();
    }

    /** Signs the update in place with the site's private key, recording which key signed. */
    public static void sign(AdapterUpdate u, String keyId, PrivateKey key) {
        signMessage(u, keyId, key, message(u));
    }

    /**
     * {@link #sign(AdapterUpdate, String, PrivateKey)} with the tensors' SHA-256 given rather than
     * computed (see {@link #message(AdapterUpdate, byte[])}).
     */
    public static void sign(AdapterUpdate u, String keyId, PrivateKey key, byte[] tensorsSha256) {
        signMessage(u, keyId, key, message(u, tensorsSha256));
    }

    private static void signMessage(AdapterUpdate u, String keyId, PrivateKey key, byte[] message) {
        try {
            java.security.Signature s = java.security.Signature.getInstance(ALGORITHM);
            s.initSign(key);
            s.update(message);
            u.setSignature(
                    Signature.newBuilder()
                            .setKeyId(keyId)
                            .setAlgorithm(ALGORITHM)
                            .setValue(ByteBuffer.wrap(s.sign()))
                            .build());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(
                    "cannot sign with key " + keyId + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether the update's signature is valid for {@code key}; false for any malformed signature.
     */
    public static boolean verify(AdapterUpdate u, PublicKey key) {
        Signature sig = u.getSignature();
        if (sig == null || !ALGORITHM.equals(sig.getAlgorithm())) {
            return false;
        }
        try {
            java.security.Signature s = java.security.Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(message(u));
            byte[] value = new byte[sig.getValue().remaining()];
            sig.getValue().duplicate().get(value);
            return s.verify(value);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /** The canonical message a chunked update's manifest signature covers. */
    public static byte[] message(UpdateManifest m) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        out.writeBytes(MANIFEST_DOMAIN);
        out.writeBytes((m.getUpdateId() + "\0").getBytes(StandardCharsets.UTF_8));
        out.writeBytes((m.getFederationId() + "\0").getBytes(StandardCharsets.UTF_8));
        out.writeBytes((m.getSiteId() + "\0").getBytes(StandardCharsets.UTF_8));
        b.putLong(m.getBaseVersion()).putLong(m.getNumExamples());
        b.putInt(m.getChunkElements()).putInt(m.getTensors().size());
        out.write(b.array(), 0, b.position());
        for (TensorInfo t : m.getTensors()) {
            out.writeBytes((t.getName() + "\0").getBytes(StandardCharsets.UTF_8));
            b.clear();
            b.putInt(t.getShape().size());
            for (int d : t.getShape()) {
                b.putInt(d);
            }
            b.putInt(t.getDtype().ordinal());
            out.write(b.array(), 0, b.position());
        }
        b.clear();
        b.putInt(m.getChunkSha256().size());
        out.write(b.array(), 0, b.position());
        HexFormat hex = HexFormat.of();
        for (String d : m.getChunkSha256()) {
            out.writeBytes(hex.parseHex(d));
        }
        return out.toByteArray();
    }

    /** Signs the manifest in place with the site's private key. */
    public static void sign(UpdateManifest m, String keyId, PrivateKey key) {
        m.setSignature(signature(message(m), keyId, key));
    }

    /** Whether the manifest's signature is valid for {@code key}; false for anything malformed. */
    public static boolean verify(UpdateManifest m, PublicKey key) {
        byte[] msg;
        try {
            msg = message(m);
        } catch (IllegalArgumentException e) {
            return false; // a digest that is not hex
        }
        return verify(m.getSignature(), msg, key);
    }

    private static Signature signature(byte[] message, String keyId, PrivateKey key) {
        try {
            java.security.Signature s = java.security.Signature.getInstance(ALGORITHM);
            s.initSign(key);
            s.update(message);
            return Signature.newBuilder()
                    .setKeyId(keyId)
                    .setAlgorithm(ALGORITHM)
                    .setValue(ByteBuffer.wrap(s.sign()))
                    .build();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(
                    "cannot sign with key " + keyId + ": " + e.getMessage(), e);
        }
    }

    private static boolean verify(Signature sig, byte[] message, PublicKey key) {
        if (sig == null || !ALGORITHM.equals(sig.getAlgorithm())) {
            return false;
        }
        try {
            java.security.Signature s = java.security.Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(message);
            byte[] value = new byte[sig.getValue().remaining()];
            sig.getValue().duplicate().get(value);
            return s.verify(value);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }
}
