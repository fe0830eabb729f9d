package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code ./fedstream bench digest}: what hashing and signing an update costs, against the JDK's
 * digests, the validation statistics and the accumulate kernel on the same bytes (best of n runs).
 */
final class DigestBench {
    private DigestBench() {}

    /** Prints the table; {@code floats}: the update's float32 elements. */
    static int run(boolean quick, int floats) throws Exception {
        float[] v = new float[floats];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextDouble();
        }
        AdapterUpdate u =
                AdapterUpdate.newBuilder()
                        .setUpdateId("bench/v1")
                        .setFederationId("bench")
                        .setSiteId("bench")
                        .setBaseVersion(1)
                        .setNumExamples(1)
                        .setTensors(List.of(TensorCodec.float32("x", new int[] {floats}, v)))
                        .setCreatedAtMs(Instant.EPOCH)
                        .build();
        byte[] raw = new byte[floats * 4];
        u.getTensors().get(0).getData().duplicate().get(raw);
        int warmup = quick ? 2 : 5;
        int runs = quick ? 3 : 20;
        System.out.printf(
                Locale.ROOT,
                "update: %.1f MB (%d float32); %d runs after %d warm-up%n",
                raw.length / 1e6,
                floats,
                runs,
                warmup);
        System.out.printf(Locale.ROOT, "%-34s %10s %10s%n", "what", "ms/update", "GB/s");
        for (String alg : List.of("SHA-256", "SHA-512", "SHA-512/256", "SHA3-256")) {
            MessageDigest md = MessageDigest.getInstance(alg);
            row("JDK " + alg, raw.length, warmup, runs, () -> md.digest(raw));
        }
        row(
                "manifest digest (TensorCodec.sha256)",
                raw.length,
                warmup,
                runs,
                () -> TensorCodec.sha256(u.getTensors()));
        KeyPair key = SiteKeys.generate();
        row(
                "sign (SHA-256 + Ed25519)",
                raw.length,
                warmup,
                runs,
                () -> UpdateSigning.sign(u, "k", key.getPrivate()));
        UpdateSigning.sign(u, "k", key.getPrivate());
        row(
                "verify (SHA-256 + Ed25519)",
                raw.length,
                warmup,
                runs,
                () -> {
                    if (!UpdateSigning.verify(u, key.getPublic())) {
                        throw new IllegalStateException("verification failed");
                    }
                });
        row(
                "validation stats (finite, max, norm)",
                raw.length,
                warmup,
                runs,
                () -> {
                    if (!LittleEndianFloats.stats(raw, LittleEndianFloats.Kind.FLOAT32).finite()) {
                        throw new IllegalStateException("not finite");
                    }
                });
        double[] acc = new double[floats];
        row(
                "baseline: acc += w*x (float64 acc)",
                raw.length,
                warmup,
                runs,
                () ->
                        LittleEndianFloats.accumulate(
                                acc, raw, LittleEndianFloats.Kind.FLOAT32, 0.5));
        return 0;
    }

    private interface Work {
        void run() throws Exception;
    }

    private static void row(String what, long bytes, int warmup, int runs, Work w)
            throws Exception {
        for (int i = 0; i < warmup; i++) {
            w.run();
        }
        long best = Long.MAX_VALUE;
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            w.run();
            best = Math.min(best, System.nanoTime() - t);
        }
        double ms = best / 1e6;
        System.out.printf(Locale.ROOT, "%-34s %10.2f %10.2f%n", what, ms, bytes / ms / 1e6);
    }
}
