package io.fedstream.worker.bert;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.NdArrays;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A padded batch of token sequences, row-major {@code [batchSize, sequenceLength]}: word-piece ids,
 * attention mask (1 = token, 0 = padding) and token type ids, as BERT takes them.
 */
public record TokenBatch(
        int batchSize,
        int sequenceLength,
        long[] inputIds,
        long[] attentionMask,
        long[] tokenTypeIds) {

    public TokenBatch {
        if (batchSize <= 0 || sequenceLength <= 0) {
            throw new IllegalArgumentException("a batch needs rows and tokens");
        }
        int n = batchSize * sequenceLength;
        if (inputIds.length != n || attentionMask.length != n || tokenTypeIds.length != n) {
            throw new IllegalArgumentException(
                    "arrays do not match [" + batchSize + ", " + sequenceLength + "]");
        }
    }

    /**
     * A tokenizer from a {@code tokenizer.json} that truncates to {@code maxLength} tokens (special
     * tokens included) and does not pad: {@link #encode} pads. Nothing is downloaded.
     */
    public static HuggingFaceTokenizer tokenizer(InputStream tokenizerJson, int maxLength)
            throws IOException {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must leave room for [CLS] and [SEP]");
        }
        DjlRuntime.configure();
        return HuggingFaceTokenizer.newInstance(
                tokenizerJson,
                Map.of(
                        "padding", "false",
                        "truncation", "true",
                        "maxLength", Integer.toString(maxLength)));
    }

    /** Tokenizes {@code texts} and pads every row to the longest. */
    public static TokenBatch encode(HuggingFaceTokenizer tokenizer, List<String> texts) {
        return encode(tokenizer, texts, 0);
    }

    /**
     * Tokenizes {@code texts} and pads every row to {@code padTo} tokens, or to the longest row if
     * {@code padTo} is 0.
     *
     * @throws IllegalArgumentException if a row is longer than {@code padTo}
     */
    public static TokenBatch encode(HuggingFaceTokenizer tokenizer, List<String> texts, int padTo) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no texts");
        }
        Encoding[] enc = new Encoding[texts.size()];
        for (int i = 0; i < enc.length; i++) {
            enc[i] = tokenizer.encode(texts.get(i));
        }
        return of(enc, padTo);
    }

    /**
     * A batch of tokenizer encodings (e.g. sentence pairs from {@code tokenizer.encode(a, b)},
     * whose second segment has token type 1), padded to {@code padTo} or, if 0, the longest.
     */
    public static TokenBatch of(Encoding[] encodings, int padTo) {
        if (encodings.length == 0) {
            throw new IllegalArgumentException("no encodings");
        }
        int longest = 0;
        for (Encoding e : encodings) {
            longest = Math.max(longest, e.getIds().length);
        }
        int len = padTo > 0 ? padTo : longest;
        if (longest > len) {
            throw new IllegalArgumentException(
                    "a text has " + longest + " tokens, more than " + len);
        }
        long[] ids = new long[encodings.length * len];
        long[] mask = new long[ids.length];
        long[] types = new long[ids.length];
        for (int i = 0; i < encodings.length; i++) {
            long[] e = encodings[i].getIds();
            System.arraycopy(e, 0, ids, i * len, e.length);
            System.arraycopy(encodings[i].getAttentionMask(), 0, mask, i * len, e.length);
            System.arraycopy(encodings[i].getTypeIds(), 0, types, i * len, e.length);
        }
        return new TokenBatch(encodings.length, len, ids, mask, types);
    }

    /** Unpadded rows of ids (all attended, token type 0); rows must have equal length. */
    public static TokenBatch of(long[][] ids) {
        int len = ids[0].length;
        long[] flat = new long[ids.length * len];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i].length != len) {
                throw new IllegalArgumentException("rows differ in length");
            }
            System.arraycopy(ids[i], 0, flat, i * len, len);
        }
        long[] mask = new long[flat.length];
        Arrays.fill(mask, 1);
        return new TokenBatch(ids.length, len, flat, mask, new long[flat.length]);
    }

    /** Rows {@code [from, to)}. */
    public TokenBatch rows(int from, int to) {
        if (from < 0 || to > batchSize || from >= to) {
            throw new IndexOutOfBoundsException("rows " + from + ".." + to + " of " + batchSize);
        }
        int a = from * sequenceLength;
        int b = to * sequenceLength;
        return new TokenBatch(
                to - from,
                sequenceLength,
                Arrays.copyOfRange(inputIds, a, b),
                Arrays.copyOfRange(attentionMask, a, b),
                Arrays.copyOfRange(tokenTypeIds, a, b));
    }

    /** Number of attended tokens of row {@code row}. */
    public int tokens(int row) {
        int n = 0;
        for (int t = 0; t < sequenceLength; t++) {
            n += attentionMask[row * sequenceLength + t] != 0 ? 1 : 0;
        }
        return n;
    }

    /** One of the arrays as {@code long[batch][tokens]}. */
    public static long[][] matrix(long[] flat, int rows, int cols) {
        long[][] out = new long[rows][];
        for (int i = 0; i < rows; i++) {
            out[i] = Arrays.copyOfRange(flat, i * cols, (i + 1) * cols);
        }
        return out;
    }

    /** {@code (inputIds, attentionMask, tokenTypeIds)} as int64 arrays in {@code manager}. */
    public NDList toNDList(NDManager manager) {
        Shape shape = new Shape(batchSize, sequenceLength);
        return new NDList(
                NdArrays.create(manager, inputIds, shape),
                NdArrays.create(manager, attentionMask, shape),
                NdArrays.create(manager, tokenTypeIds, shape));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenBatch b
                && batchSize == b.batchSize
                && sequenceLength == b.sequenceLength
                && Arrays.equals(inputIds, b.inputIds)
                && Arrays.equals(attentionMask, b.attentionMask)
                && Arrays.equals(tokenTypeIds, b.tokenTypeIds);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * batchSize + sequenceLength) + Arrays.hashCode(inputIds);
    }

    @Override
    public String toString() {
        return "TokenBatch[" + batchSize + " x " + sequenceLength + "]";
    }
}
