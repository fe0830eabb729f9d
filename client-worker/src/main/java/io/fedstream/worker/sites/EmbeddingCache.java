package io.fedstream.worker.sites;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;

/**
 * Text embeddings of a frozen encoder kept on disk, as a search index is: the file name is the
 * SHA-256 of the encoder's identity and every text, so a changed text, model or truncation never
 * reads a stale file. Content: little-endian float32 {@code [texts, hidden]}; a file of the wrong
 * size is recomputed. Written to a temporary file and moved into place, so a crash leaves no torn
 * file.
 */
final class EmbeddingCache {
    private EmbeddingCache() {}

    static float[] getOrCompute(
            Path dir, String encoder, List<String> texts, int hidden, Supplier<float[]> compute) {
        if (dir == null) {
            return compute.get();
        }
        Path file = dir.resolve("embeddings-" + key(encoder, texts) + ".f32");
        long bytes = 4L * texts.size() * hidden;
        try {
            if (Files.isRegularFile(file) && Files.size(file) == bytes) {
                float[] out = new float[texts.size() * hidden];
                ByteBuffer.wrap(Files.readAllBytes(file))
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer()
                        .get(out);
                return out;
            }
            float[] out = compute.get();
            Files.createDirectories(dir);
            ByteBuffer buf = ByteBuffer.allocate(out.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(out);
            Path tmp = Files.createTempFile(dir, "embeddings-", ".tmp");
            Files.write(tmp, buf.array());
            Files.move(
                    tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("embedding cache " + dir + ": " + e.getMessage(), e);
        }
    }

    static String key(String encoder, List<String> texts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(encoder.getBytes(StandardCharsets.UTF_8));
            for (String t : texts) {
                sha.update((byte) 0);
                sha.update(t.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
