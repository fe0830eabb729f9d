package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fedstream.schemas.avro.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BlockQuantizationTest {

    private static float[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 0.01);
        }
        return x;
    }

    @Test
    void theNf4CodeBookIsQloraNormalQuantilesAsScipyComputesThem() throws Exception {
        // nf4_code_book.py rebuilds bitsandbytes' create_normal_map with SciPy; its output is
        // stored next to it, and where python3 with SciPy is installed it is run live as well.
        List<String> stored = lines(getClass().getResourceAsStream("/nf4/nf4_code_book.txt"));
        check(stored);
        Path script = Files.createTempFile("nf4", ".py");
        try (InputStream in = getClass().getResourceAsStream("/nf4/nf4_code_book.py")) {
            Files.write(script, in.readAllBytes());
        }
        List<String> live = null;
        String why = "no python3";
        for (String python : List.of("python3", "/usr/bin/python3")) {
            try {
                Process p = new ProcessBuilder(python, script.toString()).start();
                List<String> out = lines(p.getInputStream());
                why = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                if (p.waitFor() == 0) {
                    live = out;
                    break;
                }
            } catch (IOException e) {
                why = e.getMessage();
            }
        }
        assumeTrue(live != null, "python3 with SciPy is not installed: " + why);
        check(live);
    }

    private static void check(List<String> reference) {
        float[] book = BlockQuantization.nf4CodeBook();
        assertThat(reference).hasSize(16);
        for (int k = 0; k < 16; k++) {
            // torch's and SciPy's normal quantiles differ in the last float32 bits
            assertThat(book[k]).isCloseTo(Float.parseFloat(reference.get(k)), within(1e-6f));
        }
        assertThat(book[BlockQuantization.NF4_ZERO]).isZero();
    }

    private static List<String> lines(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip().lines().toList();
    }

    @Test
    void int8RoundsEveryElementToTheNearestStepOfItsBlock() {
        float[] x = gaussian(1000, 1);
        byte[] enc = BlockQuantization.encode(DType.INT8, x, 0, 1000, 128);
        assertThat(enc).hasSize(4 + 4 * 8 + 1000);
        float[] back = new float[1000];
        BlockQuantization.decode(enc, DType.INT8, 1000, back, 0);
        for (int b = 0; b < 8; b++) {
            float absmax = 0;
            for (int i = b * 128; i < Math.min(1000, (b + 1) * 128); i++) {
                absmax = Math.max(absmax, Math.abs(x[i]));
            }
            float step = absmax / 127;
            assertThat(BlockQuantization.scale(enc, b)).isEqualTo(step);
            for (int i = b * 128; i < Math.min(1000, (b + 1) * 128); i++) {
                assertThat(back[i]).isCloseTo(x[i], within(step / 2 * 1.0001f));
                assertThat(BlockQuantization.get(enc, DType.INT8, 1000, i)).isEqualTo(back[i]);
            }
        }
        assertThat(BlockQuantization.problem(enc, DType.INT8, 1000, 128)).isNull();
    }

    @Test
    void nf4PicksTheNearestCodeBookValueOfEveryElement() {
        float[] x = gaussian(333, 2); // odd: a padding nibble
        byte[] enc = BlockQuantization.encode(DType.NF4, x, 0, 333, 64);
        assertThat(enc).hasSize(4 + 4 * 6 + 167);
        float[] book = BlockQuantization.nf4CodeBook();
        float[] back = new float[333];
        BlockQuantization.decode(enc, DType.NF4, 333, back, 0);
        for (int i = 0; i < 333; i++) {
            float scale = BlockQuantization.scale(enc, i / 64);
            double best = Double.MAX_VALUE;
            for (float v : book) {
                best = Math.min(best, Math.abs(x[i] - (double) scale * v));
            }
            assertThat((double) Math.abs(back[i] - x[i])).isCloseTo(best, within(1e-6 * scale));
        }
        assertThat(BlockQuantization.problem(enc, DType.NF4, 333, 64)).isNull();
    }

    @ParameterizedTest
    @EnumSource(
            value = DType.class,
            names = {"INT8", "NF4"})
    void aZeroBlockHasScaleZeroAndDecodesToZero(DType dtype) {
        float[] x = new float[130];
        x[129] = 1f;
        byte[] enc = BlockQuantization.encode(dtype, x, 0, 130, 64);
        assertThat(BlockQuantization.scale(enc, 0)).isZero();
        float[] back = new float[130];
        BlockQuantization.decode(enc, dtype, 130, back, 0);
        assertThat(back[0]).isZero();
        assertThat(back[129]).isEqualTo(1f);
        assertThat(BlockQuantization.problem(enc, dtype, 130, 64)).isNull();
    }

    @Test
    void problemsNameWhatIsWrong() {
        float[] x = gaussian(200, 3);
        byte[] i8 = BlockQuantization.encode(DType.INT8, x, 0, 200, 64);
        assertThat(BlockQuantization.problem(i8, DType.INT8, 200, 128))
                .contains("declares block size 64");
        assertThat(BlockQuantization.problem(i8, DType.INT8, 199, 64)).contains("bytes, expected");
        assertThat(BlockQuantization.problem(new byte[2], DType.INT8, 1, 64)).contains("header");
        byte[] bad = i8.clone();
        bad[4 + 4 * 4 + 5] = -128;
        assertThat(BlockQuantization.problem(bad, DType.INT8, 200, 64)).contains("-128");
        for (int nan : new int[] {0x7FC00000, 0x7F800000, 0xBF800000}) {
            bad = i8.clone();
            bad[4] = (byte) nan;
            bad[5] = (byte) (nan >> 8);
            bad[6] = (byte) (nan >> 16);
            bad[7] = (byte) (nan >> 24);
            assertThat(BlockQuantization.problem(bad, DType.INT8, 200, 64)).contains("scale");
        }
        bad = i8.clone();
        java.util.Arrays.fill(bad, 8, 12, (byte) 0); // block 1's scale 0, its codes not
        assertThat(BlockQuantization.problem(bad, DType.INT8, 200, 64))
                .contains("scale 0 but element");
        byte[] nf4 = BlockQuantization.encode(DType.NF4, x, 0, 199, 64);
        bad = nf4.clone();
        bad[bad.length - 1] |= (byte) 0x10;
        assertThat(BlockQuantization.problem(bad, DType.NF4, 199, 64)).contains("padding");
    }

    @Test
    void blockSizesAreMultiplesOf16From64To256() {
        assertThat(BlockQuantization.checkBlockSize(64)).isEqualTo(64);
        assertThat(BlockQuantization.checkBlockSize(256)).isEqualTo(256);
        for (int bad : new int[] {0, 48, 72, 272}) {
            assertThatThrownBy(() -> BlockQuantization.checkBlockSize(bad))
                    .hasMessageContaining("blockSize must be a multiple of 16 from 64 to 256");
        }
    }

    @Test
    void encodingsParseAndTravelInTheSpec() {
        assertThat(UpdateEncoding.parse("nf4")).isEqualTo(new UpdateEncoding(DType.NF4, 64));
        assertThat(UpdateEncoding.parse("INT8:128").toString()).isEqualTo("int8:128");
        assertThat(UpdateEncoding.parse("bfloat16").dtype()).isEqualTo(DType.BFLOAT16);
        assertThatThrownBy(() -> UpdateEncoding.parse("fp8"))
                .hasMessageContaining("encoding 'fp8' is not");
        assertThatThrownBy(() -> UpdateEncoding.parse("int8:x"))
                .hasMessageContaining("block size 'x' is not a number");
        FederationSpec spec =
                new FederationSpec("f", 1, List.of(TensorSpec.zeros("a", 4)))
                        .withEncoding(UpdateEncoding.parse("nf4:128"));
        FederationSpec back = FederationSpec.fromJson(spec.toJson());
        assertThat(back).isEqualTo(spec);
        assertThat(back.encoding()).isEqualTo(new UpdateEncoding(DType.NF4, 128));
        assertThat(spec.withEncoding(null).toJson()).doesNotContain("encoding");
        assertThat(
                        FederationSpec.fromJson(
                                        "{\"id\":\"f\",\"seed\":1,\"tensors\":[{\"name\":\"a\","
                                                + "\"shape\":[4]}],\"encoding\":{\"dtype\":\"INT8\"}}")
                                .encoding())
                .isEqualTo(new UpdateEncoding(DType.INT8, 64));
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        // 1 + 2^-8 is halfway between bfloat16 1 and 1 + 2^-7: ties to the even 1
        assertThat(UpdateEncoding.bfloat16Bits(1f + 0x1p-8f)).isEqualTo((short) 0x3F80);
        assertThat(UpdateEncoding.bfloat16Bits(1f + 0x1p-8f + 0x1p-20f)).isEqualTo((short) 0x3F81);
        assertThat(UpdateEncoding.bfloat16Bits(1f + 3 * 0x1p-8f)).isEqualTo((short) 0x3F82);
    }
}
