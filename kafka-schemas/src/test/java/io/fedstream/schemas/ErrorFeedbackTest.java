package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.avro.DType;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ErrorFeedbackTest {

    @ParameterizedTest
    @ValueSource(strings = {"nf4:64", "int8:64", "bfloat16"})
    void theSumOfSentUpdatesTracksTheSumOfTrueOnesWithinOneStep(String encoding) {
        UpdateEncoding enc = UpdateEncoding.parse(encoding);
        ChunkLayout layout =
                new FederationSpec("f", 1, List.of(TensorSpec.zeros("a", 10, 100)), 300).layout();
        int n = 1000;
        ErrorFeedback feedback = new ErrorFeedback(n);
        Random r = new Random(7);
        double[] trueSum = new double[n];
        double[] sentSum = new double[n];
        double[] plainSum = new double[n]; // the same updates without feedback
        float[] decoded = new float[n];
        for (int round = 0; round < 50; round++) {
            float[] delta = new float[n];
            for (int i = 0; i < n; i++) {
                // a small consistent drift under noise: what plain quantization loses
                delta[i] = (float) (1e-4 + r.nextGaussian() * 1e-2);
                trueSum[i] += delta[i];
            }
            byte[][] chunks = feedback.encode(delta, layout, enc);
            float[] plain = new float[n];
            for (int c = 0; c < chunks.length; c++) {
                int from = (int) layout.chunkStart(c);
                UpdateEncoding.decode(enc.dtype(), chunks[c], layout.chunkLength(c), decoded, from);
                UpdateEncoding.decode(
                        enc.dtype(),
                        enc.encode(delta, from, layout.chunkLength(c)),
                        layout.chunkLength(c),
                        plain,
                        from);
            }
            float[] residual = feedback.residual();
            for (int i = 0; i < n; i++) {
                sentSum[i] += decoded[i];
                plainSum[i] += plain[i];
                // exactly: sent so far + what is still owed = true so far (up to float rounding)
                assertThat(sentSum[i] + residual[i]).isCloseTo(trueSum[i], within(1e-5));
            }
        }
        double worst = 0;
        double plainErr = 0;
        for (int i = 0; i < n; i++) {
            worst = Math.max(worst, Math.abs(sentSum[i] - trueSum[i]));
            plainErr += Math.abs(plainSum[i] - trueSum[i]) / n;
        }
        // one step of the coarsest code: NF4's widest gap times a block's absmax (~4 sigma)
        double step = enc.dtype() == DType.NF4 ? 0.32 * 0.04 : 0.04 / 127;
        assertThat(worst).isLessThanOrEqualTo(step);
        if (enc.dtype() == DType.NF4) {
            // without feedback the quantization error accumulates
            assertThat(plainErr).isGreaterThan(worst / 4);
        }
    }

    private static org.assertj.core.data.Offset<Double> within(double d) {
        return org.assertj.core.data.Offset.offset(d);
    }
}
