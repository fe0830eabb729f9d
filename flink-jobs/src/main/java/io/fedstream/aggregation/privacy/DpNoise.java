package io.fedstream.aggregation.privacy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.ChaCha20ParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The Gaussian noise of a DP-FedAvg version, reproducible from the job secret and unpredictable
 * without it.
 *
 * <p>For federation F, version v and chunk c the key is {@code HMAC-SHA256(secret,
 * "fedstream-dp-noise/v1" ‖ F ‖ v ‖ c)}; the JDK's ChaCha20 keystream under that key (zero nonce:
 * every key is used once) gives 64-bit words, two per pair of standard normals by Box-Muller with
 * {@link StrictMath} (bit-identical on every JVM): {@code u1 = (w1>>>11 + 1)·2⁻⁵³ ∈ (0,1]}, {@code
 * u2 = (w2>>>11)·2⁻⁵³}, {@code r = sqrt(-2 ln u1)}, normals {@code r cos 2πu2, r sin 2πu2}. Element
 * i of the chunk gets the i-th normal times the standard deviation. JDK primitives (no library):
 * the JDK's own DRBG {@code SecureRandom} cannot be made to replay a stream from a seed, which the
 * audit needs.
 *
 * <p>Known limit: floating-point sampling of a Gaussian leaks through the set of representable
 * values (Mironov, CCS 2012); the noise here is not hardened against that attack.
 */
public final class DpNoise {
    /** Recorded in each DP version's manifest, so an audit knows which derivation to replay. */
    public static final String DERIVATION = "hmac-sha256/chacha20/box-muller/v1";

    private static final double TWO_POW_53 = 0x1.0p-53;

    private DpNoise() {}

    /**
     * Adds {@code std}·N(0,1) noise to every element of {@code sum}, the chunk {@code chunk} of
     * version {@code version} of federation {@code federationId}.
     */
    public static void addTo(
            double[] sum, byte[] secret, String federationId, long version, int chunk, double std) {
        double[] z = normals(secret, federationId, version, chunk, sum.length);
        for (int i = 0; i < sum.length; i++) {
            sum[i] += std * z[i];
        }
    }

    /** The first {@code n} standard normals of the stream of (federation, version, chunk). */
    public static double[] normals(
            byte[] secret, String federationId, long version, int chunk, int n) {
        if (secret == null || secret.length < 16) {
            throw new IllegalArgumentException("the DP job secret must have at least 16 bytes");
        }
        byte[] words = keystream(key(secret, federationId, version, chunk), 8L * (n + (n & 1)));
        ByteBuffer b = ByteBuffer.wrap(words).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = ((b.getLong() >>> 11) + 1) * TWO_POW_53;
            double u2 = (b.getLong() >>> 11) * TWO_POW_53;
            double r = StrictMath.sqrt(-2 * StrictMath.log(u1));
            double t = 2 * StrictMath.PI * u2;
            out[i] = r * StrictMath.cos(t);
            if (i + 1 < n) {
                out[i + 1] = r * StrictMath.sin(t);
            }
        }
        return out;
    }

    static byte[] key(byte[] secret, String federationId, long version, int chunk) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            byte[] label = "fedstream-dp-noise/v1".getBytes(StandardCharsets.UTF_8);
            byte[] fed = federationId.getBytes(StandardCharsets.UTF_8);
            ByteBuffer msg = ByteBuffer.allocate(label.length + 4 + fed.length + 8 + 4);
            msg.put(label).putInt(fed.length).put(fed).putLong(version).putInt(chunk);
            return mac.doFinal(msg.array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is unavailable", e);
        }
    }

    private static byte[] keystream(byte[] key, long bytes) {
        if (bytes > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("chunk too large for one noise stream: " + bytes);
        }
        try {
            Cipher c = Cipher.getInstance("ChaCha20");
            c.init(
                    Cipher.ENCRYPT_MODE,
                    new SecretKeySpec(key, "ChaCha20"),
                    new ChaCha20ParameterSpec(new byte[12], 0));
            return c.doFinal(new byte[(int) bytes]);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20 is unavailable", e);
        }
    }
}
