package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.testing.MiniClusters;
import io.fedstream.testing.SigningSites;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of mutated records (bit flips, truncations, garbage, field mutations, replays)
 * interleaved with genuine signed updates: the job keeps running, dead-letters every record it does
 * not accept with a known reason, counts each genuine update exactly once, and publishes the same
 * versions as a run on the genuine updates alone.
 */
class FuzzIT {
    /** The one site, signing with its own key. */
    private static final SigningSites SITES = SigningSites.generate("site-1");

    static final int GENUINE = 24;
    static final int MUTANTS_PER_UPDATE = 125; // 3000 mutants

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    @Test
    void mutatedRecordsNeverChangeAVersionNorStopTheJob() throws Exception {
        Path registry = SITES.writeRegistry(dir.resolve("keys.json"));
        List<byte[]> genuine = new ArrayList<>();
        for (int i = 0; i < GENUINE; i++) {
            AdapterUpdate u = ExactlyOnceIT.update(Fixtures.SPEC, i);
            u.setSiteId("site-1");
            u.setTensors(
                    Fixtures.update("x", 0, 1, Fixtures.constantDelta(0.01f * (i + 1)))
                            .build()
                            .getTensors());
            UpdateSigning.sign(u, SITES.keyId("site-1"), SITES.privateKey("site-1"));
            genuine.add(AvroCodec.ADAPTER_UPDATE.encode(u));
        }
        SplittableRandom rnd = new SplittableRandom(2026);
        List<byte[]> stream = new ArrayList<>();
        for (int i = 0; i < genuine.size(); i++) {
            for (int m = 0; m < MUTANTS_PER_UPDATE; m++) {
                stream.add(mutate(genuine.get(i), genuine.subList(0, i), rnd));
            }
            stream.add(genuine.get(i));
        }

        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            List<String> clean = run(kafka, "clean", genuine, registry);
            List<String> fuzzed = run(kafka, "fuzz", stream, registry);

            assertThat(fuzzed).containsExactlyElementsOf(clean);
        }
    }

    private List<String> run(
            EmbeddedKafka kafka, String prefix, List<byte[]> records, Path registry)
            throws Exception {
        FuzzRun.send(kafka, prefix, "f", records);
        int expectedRejected = records.size() - GENUINE;
        FuzzRun.Output out =
                FuzzRun.run(
                        kafka,
                        prefix,
                        FuzzRun.configuration(kafka, prefix, registry),
                        Fixtures.SPEC,
                        GENUINE,
                        1 + GENUINE / 3,
                        expectedRejected);

        Map<RejectReason, Integer> reasons = new EnumMap<>(RejectReason.class);
        for (RejectedUpdate d : out.rejected()) {
            reasons.merge(d.getReason(), 1, Integer::sum);
        }
        assertThat(out.rejected())
                .as("every other record dead-lettered once")
                .hasSize(expectedRejected);
        assertThat(reasons).doesNotContainKey(RejectReason.UNKNOWN);
        if (!prefix.equals("clean")) {
            System.out.println(
                    "fuzz: " + records.size() + " records, rejected by reason: " + reasons);
        }
        return out.versions();
    }

    /**
     * A mutant of a genuine record: damaged bytes, a tampered field, or a replay of a genuine
     * update sent before it.
     */
    private static byte[] mutate(byte[] g, List<byte[]> sent, SplittableRandom rnd) {
        byte[] m;
        switch (rnd.nextInt(8)) {
            case 0 -> { // bit flips anywhere
                m = g.clone();
                for (int k = 1 + rnd.nextInt(8); k > 0; k--) {
                    int i = rnd.nextInt(m.length);
                    m[i] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> m = java.util.Arrays.copyOf(g, rnd.nextInt(g.length)); // truncation
            case 2 -> { // trailing garbage
                m = java.util.Arrays.copyOf(g, g.length + 1 + rnd.nextInt(64));
                for (int i = g.length; i < m.length; i++) {
                    m[i] = (byte) rnd.nextInt(256);
                }
            }
            case 3 -> { // pure noise, sometimes with a valid header
                m = new byte[rnd.nextInt(400)];
                for (int i = 0; i < m.length; i++) {
                    m[i] = (byte) rnd.nextInt(256);
                }
                if (m.length > 10 && rnd.nextBoolean()) {
                    System.arraycopy(g, 0, m, 0, 10);
                }
            }
            case 4 -> // a replay of a genuine update already sent
                    m = sent.isEmpty() ? g.clone() : sent.get(rnd.nextInt(sent.size())).clone();
            default -> { // a decodable record with a tampered field
                AdapterUpdate u = AvroCodec.ADAPTER_UPDATE.decode(g);
                switch (rnd.nextInt(6)) {
                    case 0 ->
                            u.setNumExamples(u.getNumExamples() * (rnd.nextBoolean() ? 1000 : -1));
                    case 1 -> u.setBaseVersion(u.getBaseVersion() + 1 + rnd.nextInt(5));
                    case 2 -> u.setUpdateId(u.getUpdateId() + "-x");
                    case 3 -> u.setSiteId(rnd.nextBoolean() ? "site-2" : "site-1 ");
                    case 4 -> u.setSignature(null);
                    default -> {
                        var data = u.getTensors().get(rnd.nextInt(u.getTensors().size())).getData();
                        data.put(rnd.nextInt(data.remaining()), (byte) rnd.nextInt(256));
                    }
                }
                m = AvroCodec.ADAPTER_UPDATE.encode(u);
            }
        }
        return m;
    }
}
