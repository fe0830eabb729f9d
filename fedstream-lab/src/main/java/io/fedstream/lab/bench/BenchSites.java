package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.Tensor;
import java.nio.ByteBuffer;
import java.security.KeyPair;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The simulated sites of {@code ./fedstream bench e2e}: a federation spec of LoRA size, one Ed25519
 * key per site, and updates built from a few pre-generated deltas.
 *
 * <p>The spec is rank-{@value #RANK} LoRA on the query and value projections of a model with hidden
 * size {@value #HIDDEN} (a 7B model has 32 such layers: 4,194,304 parameters, 16.8 MB of float32).
 * Update values are uniform in [-1e-3, 1e-3], from {@value #VARIANTS} pre-generated deltas used in
 * turn, so that building an update costs no random numbers and the site side stays much faster than
 * the broker. For the same reason the tensors' SHA-256 is computed once per delta and the signature
 * is made over {@link UpdateSigning}'s canonical message with that digest ({@link
 * UpdateSigning#sign(AdapterUpdate, String, java.security.PrivateKey, byte[])}). The job verifies
 * every signature in full.
 */
final class BenchSites {
    static final int HIDDEN = 4096;
    static final int RANK = 8;
    static final List<String> PROJECTIONS = List.of("q_proj", "v_proj");
    static final int VARIANTS = 2;

    private final FederationSpec spec;
    private final List<KeyPair> keys; // null: unsigned
    private final byte[][][] deltas; // [variant][tensor] little-endian float32
    private final byte[][] digests; // [variant] SHA-256 of the variant's tensors
    private final int sites;

    BenchSites(FederationSpec spec, int sites, boolean signed, long seed) {
        this.spec = spec;
        this.sites = sites;
        List<TensorSpec> ts = spec.tensors();
        SplittableRandom rnd = new SplittableRandom(seed);
        deltas = new byte[VARIANTS][ts.size()][];
        digests = new byte[VARIANTS][];
        for (int v = 0; v < VARIANTS; v++) {
            for (int t = 0; t < ts.size(); t++) {
                float[] x = new float[ts.get(t).size()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) ((rnd.nextDouble() * 2 - 1) * 1e-3);
                }
                deltas[v][t] = LittleEndianFloats.fromFloats(x);
            }
            digests[v] = HexFormat.of().parseHex(TensorCodec.sha256(tensors(v)));
        }
        if (signed) {
            keys = new ArrayList<>(sites);
            for (int i = 0; i < sites; i++) {
                keys.add(SiteKeys.generate());
            }
        } else {
            keys = null;
        }
    }

    /**
     * Rank-{@value #RANK} LoRA on the query and value projections of {@code layers} layers of
     * hidden size {@value #HIDDEN}: {@code lora_A} [rank, hidden] (normal, 0.02) and {@code lora_B}
     * [hidden, rank] (zeros) per projection, as LoRA initialises them.
     */
    static FederationSpec loraSpec(String id, int layers) {
        List<TensorSpec> tensors = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (String p : PROJECTIONS) {
                String prefix = "layers." + l + ".self_attn." + p + ".";
                tensors.add(TensorSpec.normal(prefix + "lora_A", 0.02, RANK, HIDDEN));
                tensors.add(TensorSpec.zeros(prefix + "lora_B", HIDDEN, RANK));
            }
        }
        return new FederationSpec(id, 1, tensors);
    }

    /** The number of layers whose LoRA comes closest to {@code parameters} (at least one). */
    static int layersFor(long parameters) {
        long perLayer = (long) PROJECTIONS.size() * 2 * RANK * HIDDEN;
        return (int) Math.max(1, Math.round((double) parameters / perLayer));
    }

    FederationSpec spec() {
        return spec;
    }

    int sites() {
        return sites;
    }

    boolean signed() {
        return keys != null;
    }

    /** Signs a manifest of one of these sites in place, as its worker would; no-op if unsigned. */
    void sign(io.fedstream.schemas.avro.UpdateManifest m) {
        if (keys == null) {
            return;
        }
        for (int i = 0; i < keys.size(); i++) {
            if (siteName(i).equals(m.getSiteId())) {
                UpdateSigning.sign(m, keyId(i), keys.get(i).getPrivate());
                return;
            }
        }
        throw new IllegalArgumentException("no site " + m.getSiteId());
    }

    static String siteName(int site) {
        return "site-" + (site + 1);
    }

    static String keyId(int site) {
        return siteName(site) + "-key";
    }

    /** The job's key registry for these sites. */
    SiteKeys registry() {
        Map<String, List<SiteKeys.Entry>> m = new LinkedHashMap<>();
        for (int i = 0; i < sites; i++) {
            m.put(
                    siteName(i),
                    List.of(
                            new SiteKeys.Entry(
                                    keyId(i), SiteKeys.encode(keys.get(i).getPublic()))));
        }
        return new SiteKeys(m);
    }

    /**
     * An update of site {@code site} from version {@code baseVersion}, its delta being variant
     * {@code seq % VARIANTS}, signed by the site's key if the sites sign.
     */
    AdapterUpdate update(int site, long baseVersion, String updateId, long seq) {
        int v = (int) Math.floorMod(seq, (long) VARIANTS);
        AdapterUpdate u =
                AdapterUpdate.newBuilder()
                        .setUpdateId(updateId)
                        .setFederationId(spec.id())
                        .setSiteId(siteName(site))
                        .setBaseVersion(baseVersion)
                        .setNumExamples(100 + site % 7)
                        .setTensors(tensors(v))
                        .setCreatedAtMs(Instant.ofEpochMilli(System.currentTimeMillis()))
                        .build();
        if (keys != null) {
            UpdateSigning.sign(u, keyId(site), keys.get(site).getPrivate(), digests[v]);
        }
        return u;
    }

    private List<Tensor> tensors(int variant) {
        List<TensorSpec> ts = spec.tensors();
        List<Tensor> out = new ArrayList<>(ts.size());
        for (int t = 0; t < ts.size(); t++) {
            List<Integer> shape = new ArrayList<>();
            for (int d : ts.get(t).shape()) {
                shape.add(d);
            }
            out.add(
                    Tensor.newBuilder()
                            .setName(ts.get(t).name())
                            .setShape(shape)
                            .setDtype(DType.FLOAT32)
                            .setData(ByteBuffer.wrap(deltas[variant][t]))
                            .build());
        }
        return out;
    }
}
