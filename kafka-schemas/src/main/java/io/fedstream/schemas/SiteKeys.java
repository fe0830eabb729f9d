package io.fedstream.schemas;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The registry of sites' public keys the job verifies updates against. A site may have several keys
 * at once, which is how keys rotate: register the new key, switch the worker to it, then remove the
 * old one.
 *
 * <p>JSON: {@code {"sites": {"site-1": [{"key_id": "site-1-2026a", "public_key": "<base64
 * X.509>"}]}}}. Private keys are stored as base64 PKCS#8 in their own file, which never leaves the
 * site.
 */
public final class SiteKeys implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One registered key. */
    public record Entry(
            @JsonProperty("key_id") String keyId, @JsonProperty("public_key") String publicKey)
            implements Serializable {
        @JsonCreator
        public Entry {}
    }

    private final Map<String, List<Entry>> sites;
    private transient Map<String, PublicKey> decoded;

    @JsonCreator
    public SiteKeys(@JsonProperty("sites") Map<String, List<Entry>> sites) {
        this.sites = new LinkedHashMap<>(sites);
    }

    @JsonProperty("sites")
    public Map<String, List<Entry>> sites() {
        return sites;
    }

    public boolean knows(String siteId) {
        return sites.containsKey(siteId);
    }

    /** The site's key with this id, if registered. */
    public Optional<PublicKey> key(String siteId, String keyId) {
        if (decoded == null) {
            Map<String, PublicKey> m = new java.util.HashMap<>();
            sites.forEach(
                    (site, entries) ->
                            entries.forEach(
                                    e -> m.put(site + "\0" + e.keyId(), publicKey(e.publicKey()))));
            decoded = m;
        }
        return Optional.ofNullable(decoded.get(siteId + "\0" + keyId));
    }

    public static SiteKeys read(Path file) {
        try {
            return JSON.readValue(Files.readString(file), SiteKeys.class);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot read site keys from " + file + ": " + e.getMessage(), e);
        }
    }

    public void write(Path file) {
        try {
            Files.writeString(file, JSON.writeValueAsString(this));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance(UpdateSigning.ALGORITHM).generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no Ed25519", e);
        }
    }

    public static String encode(PublicKey key) {
        return Base64.getEncoder().encodeToString(key.getEncoded());
    }

    public static String encode(PrivateKey key) {
        return Base64.getEncoder().encodeToString(key.getEncoded());
    }

    public static PublicKey publicKey(String base64) {
        try {
            return KeyFactory.getInstance(UpdateSigning.ALGORITHM)
                    .generatePublic(
                            new X509EncodedKeySpec(Base64.getDecoder().decode(base64.strip())));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not an Ed25519 public key: " + e.getMessage(), e);
        }
    }

    public static PrivateKey privateKey(String base64) {
        try {
            return KeyFactory.getInstance(UpdateSigning.ALGORITHM)
                    .generatePrivate(
                            new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64.strip())));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not an Ed25519 private key: " + e.getMessage(), e);
        }
    }
}
