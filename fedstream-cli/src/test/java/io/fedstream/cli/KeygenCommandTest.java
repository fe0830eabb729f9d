package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.SiteKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Private keys go outside any source tree unless a path is given, and only the owner reads them.
 */
class KeygenCommandTest {
    @TempDir Path dir;

    @Test
    void defaultKeyDirectoryIsTheUsersConfigurationNotTheWorkingDirectory() {
        assertThat(KeygenCommand.defaultKeyDirectory(Map.of("XDG_CONFIG_HOME", "/cfg")))
                .isEqualTo(Path.of("/cfg", "fedstream", "keys"));
        assertThat(KeygenCommand.defaultKeyDirectory(Map.of()))
                .isEqualTo(
                        Path.of(System.getProperty("user.home"), ".config", "fedstream", "keys"));
    }

    /**
     * {@code keygen} of key {@code s-a} of site {@code s} into {@code key} and {@code registry}.
     */
    static String[] keygenArgs(Path key, Path registry) {
        return new String[] {
            "keygen",
            "--site",
            "s",
            "--key-id",
            "s-a",
            "--private-key",
            key.toString(),
            "--registry",
            registry.toString()
        };
    }

    @Test
    void writesAnOwnerOnlyKeyAndItsRegistryEntry() throws Exception {
        Path key = dir.resolve("keys").resolve("s-a.key");
        Path registry = dir.resolve("keys.json");
        int code = Main.run(keygenArgs(key, registry), System.err);
        assertThat(code).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key.getParent())))
                .isEqualTo("rwx------");
        assertThat(SiteKeys.read(registry).knows("s")).isTrue();
    }

    @Test
    void gitignoreCoversKeyFiles() throws Exception {
        assertThat(Files.readAllLines(Path.of("..", ".gitignore"))).contains("*.key");
    }
}
