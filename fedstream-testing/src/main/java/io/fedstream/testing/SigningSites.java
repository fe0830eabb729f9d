package io.fedstream.testing;

import io.fedstream.schemas.SiteKeys;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sites with a freshly generated signing key each, and the job's registry of their public keys:
 * {@code SigningSites.generate("site-a", "site-b").writeRegistry(dir.resolve("site-keys.json"))}
 * for {@code fedstream.security.site-keys.file}, then sign each site's updates with {@link #keyId}
 * and {@link #privateKey}.
 */
public final class SigningSites {
    private final Map<String, KeyPair> keys;

    private SigningSites(Map<String, KeyPair> keys) {
        this.keys = keys;
    }

    /** One new key pair per site; a site's key id is {@code <site>-key}. */
    public static SigningSites generate(String... siteIds) {
        Map<String, KeyPair> keys = new LinkedHashMap<>();
        for (String site : siteIds) {
            if (keys.put(site, SiteKeys.generate()) != null) {
                throw new IllegalArgumentException("Site " + site + " named twice");
            }
        }
        return new SigningSites(keys);
    }

    /** The id of {@code siteId}'s key in the registry. */
    public String keyId(String siteId) {
        pair(siteId);
        return siteId + "-key";
    }

    /** {@code siteId}'s private key, to sign its updates with. */
    public PrivateKey privateKey(String siteId) {
        return pair(siteId).getPrivate();
    }

    /** The registry: each site with its one public key. */
    public SiteKeys registry() {
        Map<String, List<SiteKeys.Entry>> sites = new LinkedHashMap<>();
        keys.forEach(
                (site, pair) ->
                        sites.put(
                                site,
                                List.of(
                                        new SiteKeys.Entry(
                                                keyId(site), SiteKeys.encode(pair.getPublic())))));
        return new SiteKeys(sites);
    }

    /** Writes {@link #registry()} to {@code file}, returned. */
    public Path writeRegistry(Path file) {
        registry().write(file);
        return file;
    }

    private KeyPair pair(String siteId) {
        KeyPair pair = keys.get(siteId);
        if (pair == null) {
            throw new IllegalArgumentException(
                    "Unknown site " + siteId + "; have " + keys.keySet());
        }
        return pair;
    }
}
