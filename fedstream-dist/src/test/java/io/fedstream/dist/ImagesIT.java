package io.fedstream.dist;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The images {@code scripts/build-images.sh} writes (docker-archive tars under {@code
 * target/images}, built by {@code mvn -Pimages -pl fedstream-dist -am verify}), read as files:
 * their names are the ones the Kubernetes manifests use, they run as a user other than root, and
 * the JVM, the launcher and every jar are where the entry point looks. Skipped, saying so, where
 * the images were not built (the default build: building them takes minutes).
 */
class ImagesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String VERSION = System.getProperty("fedstream.version");

    /** One image: its manifest.json entry, its config, and its file system, layer over layer. */
    record Image(JsonNode manifest, JsonNode config, Map<String, Node> files, int layers) {
        Node file(String path) {
            Node n = resolve(path);
            // follow symbolic links (Debian's merged /usr: /bin -> usr/bin), relative or absolute
            int hops = 0;
            while (n.link() != null && hops++ < 8) {
                path =
                        n.link().startsWith("/")
                                ? n.link()
                                : Path.of(path).resolveSibling(n.link()).normalize().toString();
                n = resolve(path);
            }
            return n;
        }

        private Node resolve(String path) {
            Node n = files.get(path);
            if (n != null) {
                return n;
            }
            // a link in a parent directory
            Path p = Path.of(path);
            for (int i = p.getNameCount() - 1; i > 0; i--) {
                String parent = "/" + p.subpath(0, i);
                Node d = files.get(parent);
                if (d != null && d.link() != null) {
                    String base =
                            d.link().startsWith("/")
                                    ? d.link()
                                    : Path.of(parent).resolveSibling(d.link()).toString();
                    return file(Path.of(base).resolve(p.subpath(i, p.getNameCount())).toString());
                }
            }
            throw new AssertionError(path + " is not in the image");
        }

        String text(String path) {
            return new String(file(path).content(), StandardCharsets.UTF_8);
        }

        List<String> list(String field) {
            List<String> out = new ArrayList<>();
            config.path("config").path(field).forEach(v -> out.add(v.asText()));
            return out;
        }
    }

    /** A file, directory or link of the image; {@code content} only for the small files read. */
    record Node(int mode, long uid, String link, boolean directory, byte[] content) {
        boolean executable() {
            return (mode & 0111) != 0;
        }
    }

    private static Path imageFile(String name) {
        Path dir = Path.of(System.getProperty("fedstream.images.dir", "target/images"));
        Path file = dir.resolve("fedstream-" + name + "-" + VERSION + ".tar");
        Assumptions.assumeTrue(
                Files.isRegularFile(file),
                () ->
                        "skipped: no "
                                + file
                                + " (build the images with mvn -Pimages -pl fedstream-dist -am"
                                + " verify, or scripts/build-images.sh)");
        return file;
    }

    /**
     * Reads a docker-archive tar: manifest.json, the config, and every layer's entries, with GNU
     * tar (commons-compress is on this module's test classpath only with the older commons-io the
     * distribution pins, with which its tar reader fails).
     */
    static Image read(Path archive, List<String> readContentOf) throws IOException {
        String quoted = "'" + archive + "'";
        JsonNode manifests = JSON.readTree(sh("tar -xOf " + quoted + " manifest.json"));
        assertThat(manifests).hasSize(1);
        JsonNode manifest = manifests.get(0);
        String configFile = manifest.path("Config").asText();
        JsonNode config = JSON.readTree(sh("tar -xOf " + quoted + " '" + configFile + "'"));
        Map<String, Node> files = new HashMap<>();
        for (JsonNode layer : manifest.path("Layers")) {
            String extract = "tar -xOf " + quoted + " '" + layer.asText() + "'";
            String listing =
                    new String(
                            sh(extract + " | tar -tv --numeric-owner -f -"),
                            StandardCharsets.UTF_8);
            for (String line : listing.split("\n")) {
                if (!line.isBlank()) {
                    entry(line, files, readContentOf, extract);
                }
            }
        }
        return new Image(manifest, config, files, manifest.path("Layers").size());
    }

    /** One line of {@code tar -tv}: {@code perm uid/gid size date time name[ -> target]}. */
    private static void entry(
            String line, Map<String, Node> files, List<String> readContentOf, String extract)
            throws IOException {
        String[] f = line.split("\\s+", 6);
        char type = f[0].charAt(0);
        String member = f[5];
        String link = null;
        String arrow = type == 'h' ? " link to " : " -> ";
        if ((type == 'h' || type == 'l') && member.contains(arrow)) {
            link = member.substring(member.indexOf(arrow) + arrow.length());
            member = member.substring(0, member.indexOf(arrow));
        }
        String name = "/" + member.replaceFirst("^\\./", "").replaceAll("/$", "");
        if (name.equals("/") || name.equals("/.")) {
            return;
        }
        String base = Path.of(name).getFileName().toString();
        if (base.startsWith(".wh.")) { // an OCI whiteout deletes the path below
            String gone = Path.of(name).resolveSibling(base.substring(4)).toString();
            files.keySet().removeIf(p -> p.equals(gone) || p.startsWith(gone + "/"));
            return;
        }
        if (type == 'h') { // a hard link: the same node as its target
            files.put(name, files.get("/" + link.replaceFirst("^\\./", "")));
            return;
        }
        byte[] content =
                readContentOf.contains(name)
                        ? sh(extract + " | tar -xOf - '" + member + "'")
                        : null;
        files.put(
                name,
                new Node(
                        Integer.parseInt(octal(f[0]), 8),
                        Long.parseLong(f[1].split("/")[0]),
                        type == 'l' ? link : null,
                        type == 'd',
                        content));
    }

    /** {@code -rwxr-xr-x} as octal digits. */
    private static String octal(String perm) {
        StringBuilder out = new StringBuilder();
        for (int i = 1; i < 10; i += 3) {
            int d = perm.charAt(i) == 'r' ? 4 : 0;
            d |= perm.charAt(i + 1) == 'w' ? 2 : 0;
            d |= "xst".indexOf(perm.charAt(i + 2)) >= 0 ? 1 : 0;
            out.append(d);
        }
        return out.toString();
    }

    /** The standard output of {@code bash -o pipefail -c script}, which must succeed. */
    private static byte[] sh(String script) throws IOException {
        Process p =
                new ProcessBuilder("bash", "-o", "pipefail", "-c", script)
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        try {
            assertThat(p.waitFor()).as(script).isZero();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(script, e);
        }
        return out;
    }

    /** A text file of the distribution tarball the images were built from. */
    private static String distFile(String path) throws IOException {
        String tarball = System.getProperty("fedstream.dist.tarball");
        return new String(
                sh("tar -xzOf '" + tarball + "' 'fedstream-" + VERSION + "/" + path + "'"),
                StandardCharsets.UTF_8);
    }

    private static List<String> manifestImages() throws IOException {
        Path k8s = Path.of(System.getProperty("fedstream.k8s.dir", "../k8s"));
        Pattern image = Pattern.compile("image: (\\S+)");
        List<String> images = new ArrayList<>();
        try (Stream<Path> s = Files.walk(k8s.resolve("base"))) {
            for (Path f : s.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                Matcher m = image.matcher(Files.readString(f));
                while (m.find()) {
                    images.add(m.group(1));
                }
            }
        }
        return images;
    }

    /**
     * {@code fedstream/fedstream-<name>:<version>}, read (with the content of {@code /etc/passwd}
     * and {@code read}), named as the manifests reference it, running as a user other than root
     * with the JVM and the shell tools the entry points use.
     */
    private static Image image(String name, String... read) throws IOException {
        List<String> contents = new ArrayList<>(List.of(read));
        contents.add("/etc/passwd");
        Image image = read(imageFile(name), contents);
        String tag = "fedstream/fedstream-" + name + ":" + VERSION;
        // skopeo writes the short name fully qualified, as Docker and podman resolve it
        assertThat(image.manifest().path("RepoTags").get(0).asText()).isIn(tag, "docker.io/" + tag);
        assertThat(manifestImages()).contains(tag);
        nonRootWithJava(image);
        return image;
    }

    private static void nonRootWithJava(Image image) {
        assertThat(image.config().path("os").asText()).isEqualTo("linux");
        assertThat(image.config().path("architecture").asText()).isEqualTo("amd64");
        String user = image.config().path("config").path("User").asText();
        assertThat(user).isEqualTo("1000:1000");
        assertThat(image.text("/etc/passwd")).contains("fedstream:x:1000:1000:");
        assertThat(image.list("Env")).contains("JAVA_HOME=/opt/java");
        assertThat(image.file("/opt/java/bin/java").executable()).isTrue();
        assertThat(image.file("/opt/java/lib/modules").directory()).isFalse();
        // the manifests' init containers run /bin/sh; the launchers need bash and env
        assertThat(image.file("/bin/sh").executable()).isTrue();
        assertThat(image.file("/usr/bin/env").executable()).isTrue();
        assertThat(image.file("/bin/bash").executable()).isTrue();
        assertThat(image.layers()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void workerImage() throws IOException {
        Image image =
                image(
                        "worker",
                        "/opt/fedstream/bin/fedstream",
                        "/opt/fedstream/lib/fedstream.classpath");
        assertThat(image.list("Entrypoint")).containsExactly("/opt/fedstream/bin/fedstream");
        assertThat(image.list("Env")).anyMatch(e -> e.startsWith("FEDSTREAM_JAVA_OPTS="));
        Node launcher = image.file("/opt/fedstream/bin/fedstream");
        assertThat(launcher.executable()).isTrue();
        assertThat(image.text("/opt/fedstream/bin/fedstream")).startsWith("#!/usr/bin/env bash");
        // every jar the launcher puts on the classpath, and the CLI's own
        String classpath = image.text("/opt/fedstream/lib/fedstream.classpath").trim();
        for (String jar : classpath.split(":")) {
            assertThat(image.files()).containsKey("/opt/fedstream/" + jar);
        }
        assertThat(image.files().keySet())
                .anyMatch(p -> p.matches("/opt/fedstream/lib/fedstream-cli-.*\\.jar"))
                .anyMatch(p -> p.startsWith("/opt/fedstream/datasets/medquad/"))
                .noneMatch(p -> p.startsWith("/opt/fedstream/lab"));
    }

    @Test
    void jobImage() throws IOException {
        Image image = image("job", "/docker-entrypoint.sh");
        assertThat(image.list("Entrypoint")).containsExactly("/docker-entrypoint.sh");
        assertThat(image.list("Env")).contains("FLINK_HOME=/opt/flink");
        assertThat(image.file("/docker-entrypoint.sh").executable()).isTrue();
        assertThat(image.text("/docker-entrypoint.sh"))
                .contains("/opt/java", "classpath=\"$FLINK_HOME/lib/*\"");
        // the FlinkDeployments' jarURI, local:///opt/flink/usrlib/flink-jobs.jar
        Node job = image.file("/opt/flink/usrlib/flink-jobs.jar");
        assertThat(job.directory()).isFalse();
        // every jar of the distribution's Flink classpath, and nothing of FedStream's own
        for (String jar : distFile("lib/flink.classpath").trim().split(":")) {
            assertThat(image.files()).containsKey("/opt/flink/lib/" + Path.of(jar).getFileName());
        }
        assertThat(image.files().keySet())
                .anyMatch(p -> p.matches("/opt/flink/lib/flink-runtime-2\\..*\\.jar"))
                .anyMatch(p -> p.matches("/opt/flink/lib/flink-statebackend-rocksdb-.*\\.jar"))
                .anyMatch(p -> p.matches("/opt/flink/lib/log4j-core-.*\\.jar"))
                .contains("/opt/flink/conf/config.yaml", "/opt/flink/plugins")
                .noneMatch(p -> p.matches("/opt/flink/lib/(fedstream|kafka-clients).*"));
        assertThat(image.file("/opt/flink/conf").uid()).isEqualTo(1000);
    }
}
