package io.fedstream.aggregation.prompt;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * An encoder's token embedding table (its embedding layer): a vocabulary of tokens and one vector
 * per token. The server embeds the clients' prompt tokens with it; the ablation maps averaged
 * vectors back to tokens with {@link #nearest}.
 *
 * <p>File format (big-endian, {@link #write}/{@link #read}): the magic {@code FSTE}, int version 1,
 * int count, int dim, then count tokens as modified-UTF-8 strings ({@code writeUTF}), then count ×
 * dim float32 values row by row. {@code ./fedstream prompt-embeddings} writes MiniLM's.
 */
public final class TokenEmbeddings implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int MAGIC = 0x46535445; // "FSTE"

    private final String[] tokens;
    private final float[][] vectors;
    private final Map<String, Integer> index;

    public TokenEmbeddings(List<String> tokens, float[][] vectors) {
        if (tokens.size() != vectors.length || vectors.length == 0) {
            throw new IllegalArgumentException(
                    tokens.size() + " tokens but " + vectors.length + " vectors");
        }
        int dim = vectors[0].length;
        this.tokens = tokens.toArray(String[]::new);
        this.vectors = vectors;
        this.index = new HashMap<>();
        for (int i = 0; i < this.tokens.length; i++) {
            if (vectors[i].length != dim) {
                throw new IllegalArgumentException("vector " + i + " has another dimension");
            }
            index.putIfAbsent(this.tokens[i], i);
        }
    }

    public int size() {
        return tokens.length;
    }

    public int dim() {
        return vectors[0].length;
    }

    public boolean contains(String token) {
        return index.containsKey(token);
    }

    public String token(int i) {
        return tokens[i];
    }

    /** The vector of {@code token}; {@link IllegalArgumentException} if it is not in the table. */
    public float[] vector(String token) {
        Integer i = index.get(token);
        if (i == null) {
            throw new IllegalArgumentException("token not in the vocabulary: " + token);
        }
        return vectors[i];
    }

    /** The allowed token whose vector has the highest cosine similarity to {@code v}. */
    public String nearest(float[] v, Predicate<String> allowed) {
        int best = -1;
        double bestSim = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < tokens.length; i++) {
            if (!allowed.test(tokens[i])) {
                continue;
            }
            double s = Vectors.cosine(v, vectors[i]);
            if (s > bestSim) {
                bestSim = s;
                best = i;
            }
        }
        if (best < 0) {
            throw new IllegalArgumentException("no allowed token in the vocabulary");
        }
        return tokens[best];
    }

    public void write(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            write(out);
        }
    }

    public void write(OutputStream os) throws IOException {
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(os, 1 << 16));
        out.writeInt(MAGIC);
        out.writeInt(1);
        out.writeInt(tokens.length);
        out.writeInt(dim());
        for (String t : tokens) {
            out.writeUTF(t);
        }
        for (float[] v : vectors) {
            for (float x : v) {
                out.writeFloat(x);
            }
        }
        out.flush();
    }

    public static TokenEmbeddings read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in);
        }
    }

    public static TokenEmbeddings read(InputStream is) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(is, 1 << 16));
        if (in.readInt() != MAGIC || in.readInt() != 1) {
            throw new IOException("not a FedStream token embedding table (FSTE v1)");
        }
        int count = in.readInt();
        int dim = in.readInt();
        if (count <= 0 || dim <= 0) {
            throw new IOException("bad table size " + count + " x " + dim);
        }
        String[] tokens = new String[count];
        for (int i = 0; i < count; i++) {
            tokens[i] = in.readUTF();
        }
        float[][] vectors = new float[count][dim];
        for (int i = 0; i < count; i++) {
            for (int d = 0; d < dim; d++) {
                vectors[i][d] = in.readFloat();
            }
        }
        return new TokenEmbeddings(List.of(tokens), vectors);
    }

    /** Tokens as a readable prompt: whole words, not word-piece continuations or [SPECIAL]s. */
    public static boolean isWord(String token) {
        return token.length() >= 2
                && !token.startsWith("##")
                && token.chars().allMatch(c -> c >= 'a' && c <= 'z');
    }

    @Override
    public String toString() {
        return "TokenEmbeddings[" + tokens.length + " x " + dim() + "]";
    }
}
