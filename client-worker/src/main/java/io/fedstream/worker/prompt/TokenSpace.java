package io.fedstream.worker.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.worker.bert.BertWeights;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.OnnxWeights;
import io.fedstream.worker.djl.FloatTensor;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The words a prompt may use and where they sit in an encoder's token embedding space (its input
 * embedding layer): the whole-word entries of the tokenizer's vocabulary (lower-case a-z, at least
 * two letters, no {@code ##} word pieces or {@code [SPECIAL]} tokens) with their embedding rows.
 * FedDTPT's client draws replacement and insertion candidates from a token's nearest neighbours
 * here (cosine similarity).
 */
public final class TokenSpace {
    private final List<String> words;
    private final float[][] raw;
    private final float[][] unit;
    private final Map<String, Integer> index = new HashMap<>();

    public TokenSpace(List<String> words, float[][] vectors) {
        if (words.size() != vectors.length) {
            throw new IllegalArgumentException("one vector per word needed");
        }
        this.words = List.copyOf(words);
        this.raw = vectors;
        this.unit = new float[vectors.length][];
        for (int i = 0; i < vectors.length; i++) {
            unit[i] = unit(vectors[i]);
            index.putIfAbsent(words.get(i), i);
        }
    }

    /** The whole words of a BERT tokenizer.json vocabulary with their rows of the ONNX graph. */
    public static TokenSpace of(OnnxWeights onnx, InputStream tokenizerJson) throws IOException {
        JsonNode vocab = new ObjectMapper().readTree(tokenizerJson).path("model").path("vocab");
        if (!vocab.isObject()) {
            throw new IOException("tokenizer.json has no model.vocab object");
        }
        FloatTensor emb = onnx.bertWeights().get(BertWeights.WORD_EMBEDDINGS);
        int dim = emb.shape()[1];
        List<String> words = new ArrayList<>();
        List<float[]> vectors = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = vocab.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (isWord(e.getKey())) {
                int id = e.getValue().asInt();
                float[] v = new float[dim];
                System.arraycopy(emb.data(), id * dim, v, 0, dim);
                words.add(e.getKey());
                vectors.add(v);
            }
        }
        return new TokenSpace(words, vectors.toArray(float[][]::new));
    }

    /** all-MiniLM-L6-v2's word space. */
    public static TokenSpace miniLm(OnnxWeights onnx) throws IOException {
        try (InputStream in = MiniLm.openTokenizerJson()) {
            return of(onnx, in);
        }
    }

    /** Whether a vocabulary entry is a whole word a prompt may use. */
    public static boolean isWord(String token) {
        return token.length() >= 2 && token.chars().allMatch(c -> c >= 'a' && c <= 'z');
    }

    public int size() {
        return words.size();
    }

    public List<String> words() {
        return words;
    }

    /** The embedding row of every word, in {@link #words()} order (not normalised). */
    public float[][] vectors() {
        return raw;
    }

    public boolean contains(String word) {
        return index.containsKey(word);
    }

    /** The {@code k} words nearest to {@code word} (cosine), nearest first, itself excluded. */
    public List<String> nearest(String word, int k) {
        Integer w = index.get(word);
        if (w == null) {
            throw new IllegalArgumentException("not in the word space: " + word);
        }
        float[] q = unit[w];
        PriorityQueue<double[]> heap = new PriorityQueue<>((a, b) -> Double.compare(a[0], b[0]));
        for (int i = 0; i < unit.length; i++) {
            if (i == w) {
                continue;
            }
            double s = 0;
            float[] v = unit[i];
            for (int d = 0; d < q.length; d++) {
                s += q[d] * v[d];
            }
            if (heap.size() < k) {
                heap.add(new double[] {s, i});
            } else if (s > heap.peek()[0]) {
                heap.poll();
                heap.add(new double[] {s, i});
            }
        }
        List<double[]> sorted = new ArrayList<>(heap);
        sorted.sort(
                (a, b) -> a[0] != b[0] ? Double.compare(b[0], a[0]) : Double.compare(a[1], b[1]));
        List<String> out = new ArrayList<>(sorted.size());
        for (double[] e : sorted) {
            out.add(words.get((int) e[1]));
        }
        return out;
    }

    /**
     * A hand-written prompt as words of this space: lower-cased, split on anything that is not a
     * letter; words outside the space are dropped.
     */
    public List<String> words(String text) {
        List<String> out = new ArrayList<>();
        for (String w : text.toLowerCase(Locale.ROOT).split("[^a-z]+")) {
            if (contains(w)) {
                out.add(w);
            }
        }
        return out;
    }

    /** {@code v} scaled to length 1 (a new array; zeros for a zero vector). */
    static float[] unit(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        double n = Math.sqrt(s);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = n == 0 ? 0 : (float) (v[i] / n);
        }
        return out;
    }
}
