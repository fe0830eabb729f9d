package io.fedstream.cli;

import io.fedstream.schemas.SiteKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./fedstream keygen}: a site's Ed25519 key pair, and its entry in the job's registry. */
@Command(
        name = "keygen",
        mixinStandardHelpOptions = true,
        description = {
            "Creates an Ed25519 key pair for a site: the private key (base64 PKCS#8, mode 600) stays"
                    + " at the site and is given to its worker with --signing-key; the public key"
                    + " is added under --key-id to the job's registry (--registry, created if"
                    + " missing), which the job reads from fedstream.security.site-keys.file."
        })
final class KeygenCommand implements Callable<Integer> {

    @Option(names = "--site", required = true, description = "Site id.")
    String site;

    @Option(
            names = "--key-id",
            required = true,
            description = "Id of the new key, e.g. site-1-2026a.")
    String keyId;

    @Option(
            names = "--private-key",
            required = true,
            description = "File to write the private key to.")
    Path privateKeyFile;

    @Option(
            names = "--registry",
            required = true,
            description = "Registry JSON to add the public key to.")
    Path registry;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(privateKeyFile)) {
            System.err.println("refusing to overwrite " + privateKeyFile);
            return 1;
        }
        KeyPair pair = SiteKeys.generate();
        Files.writeString(privateKeyFile, SiteKeys.encode(pair.getPrivate()) + "\n");
        try {
            Files.setPosixFilePermissions(
                    privateKeyFile, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            System.err.println("warning: cannot restrict the permissions of " + privateKeyFile);
        }
        Map<String, List<SiteKeys.Entry>> sites =
                Files.exists(registry)
                        ? new LinkedHashMap<>(SiteKeys.read(registry).sites())
                        : new LinkedHashMap<>();
        List<SiteKeys.Entry> keys = new ArrayList<>(sites.getOrDefault(site, List.of()));
        if (keys.stream().anyMatch(k -> k.keyId().equals(keyId))) {
            System.err.println("site " + site + " already has a key " + keyId);
            return 1;
        }
        keys.add(new SiteKeys.Entry(keyId, SiteKeys.encode(pair.getPublic())));
        sites.put(site, keys);
        new SiteKeys(sites).write(registry);
        System.out.printf(
                "site %s: private key in %s, public key %s added to %s (%d key(s) for the site)%n",
                site, privateKeyFile, keyId, registry, keys.size());
        return 0;
    }
}
