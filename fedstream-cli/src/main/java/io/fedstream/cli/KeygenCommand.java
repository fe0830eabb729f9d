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
                    + " missing), which the job reads from fedstream.security.site-keys.file.",
            "The private key goes to ~/.config/fedstream/keys/<key-id>.key unless --private-key"
                    + " says otherwise, outside any source tree."
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
            description =
                    "File to write the private key to (default"
                            + " $XDG_CONFIG_HOME/fedstream/keys/<key-id>.key, else"
                            + " ~/.config/fedstream/keys/<key-id>.key).")
    Path privateKeyFile;

    @Option(
            names = "--registry",
            required = true,
            description = "Registry JSON to add the public key to.")
    Path registry;

    @Override
    public Integer call() throws Exception {
        if (!keyId.matches("[A-Za-z0-9._-]+")) {
            throw new Errors.UsageError(
                    "--key-id " + keyId + ": use letters, digits, '.', '_' and '-' only");
        }
        Map<String, List<SiteKeys.Entry>> sites =
                Files.exists(registry)
                        ? new LinkedHashMap<>(SiteKeys.read(registry).sites())
                        : new LinkedHashMap<>();
        List<SiteKeys.Entry> keys = new ArrayList<>(sites.getOrDefault(site, List.of()));
        if (keys.stream().anyMatch(k -> k.keyId().equals(keyId))) {
            throw new Errors.UserError(
                    "site " + site + " already has a key " + keyId + ": choose another --key-id");
        }
        if (privateKeyFile == null) {
            privateKeyFile = defaultKeyDirectory(System.getenv()).resolve(keyId + ".key");
        }
        if (Files.exists(privateKeyFile)) {
            throw new Errors.UserError(
                    "refusing to overwrite "
                            + privateKeyFile
                            + ": choose another --key-id or --private-key");
        }
        Path dir = privateKeyFile.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            try {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: the key's own permissions are tried below
            }
        }
        KeyPair pair = SiteKeys.generate();
        try {
            // created with mode 600, so the key is never readable by others, not even briefly
            Files.createFile(
                    privateKeyFile,
                    PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(privateKeyFile);
            System.err.println("warning: cannot restrict the permissions of " + privateKeyFile);
        }
        Files.writeString(privateKeyFile, SiteKeys.encode(pair.getPrivate()) + "\n");
        keys.add(new SiteKeys.Entry(keyId, SiteKeys.encode(pair.getPublic())));
        sites.put(site, keys);
        new SiteKeys(sites).write(registry);
        System.out.printf(
                "site %s: private key in %s, public key %s added to %s (%d key(s) for the site)%n",
                site, privateKeyFile, keyId, registry, keys.size());
        return 0;
    }

    /**
     * Where private keys go by default: {@code $XDG_CONFIG_HOME/fedstream/keys}, else {@code
     * ~/.config/fedstream/keys} — never the working directory, which is often a source tree.
     */
    static Path defaultKeyDirectory(Map<String, String> env) {
        String xdg = env.get("XDG_CONFIG_HOME");
        Path config =
                xdg != null && !xdg.isBlank()
                        ? Path.of(xdg)
                        : Path.of(System.getProperty("user.home"), ".config");
        return config.resolve("fedstream").resolve("keys");
    }
}
