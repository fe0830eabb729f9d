package io.fedstream.schemas;

/**
 * Error feedback for a site's lossy update encoding (Seide et al. 2014; Karimireddy et al. 2019,
 * "Error Feedback Fixes SignSGD"): what the encoding lost from one update is added to the next
 * before encoding, so the sum of the sent updates tracks the sum of the true ones within one
 * update's quantization error instead of drifting. Plain Java, one instance per site and
 * federation, over the flattened parameter vector.
 */
public final class ErrorFeedback {
    private final float[] residual;

    /** No residual yet, for a vector of {@code elements}. */
    public ErrorFeedback(int elements) {
        this.residual = new float[elements];
    }

    /**
     * The chunks to send for {@code delta} (flattened, layout order): chunk {@code c} encodes
     * {@code delta + residual} over its range; the residual becomes that input minus what the chunk
     * decodes to.
     */
    public byte[][] encode(float[] delta, ChunkLayout layout, UpdateEncoding encoding) {
        if (delta.length != residual.length || layout.totalElements() != residual.length) {
            throw new IllegalArgumentException(
                    delta.length
                            + " elements for a residual of "
                            + residual.length
                            + " and a layout of "
                            + layout.totalElements());
        }
        byte[][] chunks = new byte[layout.chunkCount()][];
        float[] input = new float[layout.chunkElements()];
        float[] decoded = new float[layout.chunkElements()];
        for (int c = 0; c < chunks.length; c++) {
            int from = (int) layout.chunkStart(c);
            int n = layout.chunkLength(c);
            for (int i = 0; i < n; i++) {
                input[i] = delta[from + i] + residual[from + i];
            }
            chunks[c] = encoding.encode(input, 0, n);
            UpdateEncoding.decode(encoding.dtype(), chunks[c], n, decoded, 0);
            for (int i = 0; i < n; i++) {
                residual[from + i] = input[i] - decoded[i];
            }
        }
        return chunks;
    }

    /** Elements of the vector. */
    public int size() {
        return residual.length;
    }

    /** What the encoding has lost so far and the next update will carry (a copy). */
    public float[] residual() {
        return residual.clone();
    }
}
