package io.fedstream.worker.decoder;

import io.fedstream.worker.decoder.DecoderConfig.Family;
import io.fedstream.worker.djl.FloatTensor;
import java.util.Map;

/**
 * A straightforward double-precision implementation of Hugging Face's {@code GPT2LMHeadModel} and
 * {@code LlamaForCausalLM} forward passes for one unpadded sequence, written from the transformers
 * source with loops over plain arrays and reading the checkpoint's own tensors and layouts (GPT-2
 * Conv1D {@code [in, out]} with fused {@code c_attn}, Llama {@code nn.Linear [out, in]}). It shares
 * no code with {@link CausalLm}; tests compare the two.
 */
public final class ReferenceDecoder {
    private final DecoderConfig c;
    private final Map<String, FloatTensor> w;

    ReferenceDecoder(DecoderConfig config, Map<String, FloatTensor> hfTensors) {
        this.c = config;
        this.w = hfTensors;
    }

    private float[] t(String name) {
        FloatTensor x = w.get(name);
        if (x == null) {
            x = w.get("transformer." + name);
        }
        if (x == null) {
            throw new IllegalArgumentException("no " + name);
        }
        return x.data();
    }

    /** Logits {@code [T][V]} for {@code ids}. */
    double[][] logits(long[] ids) {
        int len = ids.length;
        int h = c.hiddenSize();
        boolean gpt2 = c.family() == Family.GPT2;
        String p = gpt2 ? "" : "model.";
        double[][] x = new double[len][h];
        float[] emb = t(gpt2 ? "wte.weight" : "model.embed_tokens.weight");
        for (int i = 0; i < len; i++) {
            for (int j = 0; j < h; j++) {
                x[i][j] = emb[(int) ids[i] * h + j];
                if (gpt2) {
                    x[i][j] += t("wpe.weight")[i * h + j];
                }
            }
        }
        for (int l = 0; l < c.numLayers(); l++) {
            x = gpt2 ? gpt2Block(x, l) : llamaBlock(x, l);
        }
        double[][] out = new double[len][];
        for (int i = 0; i < len; i++) {
            double[] n =
                    gpt2
                            ? layerNorm(x[i], t("ln_f.weight"), t("ln_f.bias"))
                            : rmsNorm(x[i], t(p + "norm.weight"));
            float[] head = c.tieWordEmbeddings() ? emb : t("lm_head.weight");
            out[i] = new double[c.vocabSize()];
            for (int v = 0; v < c.vocabSize(); v++) {
                double s = 0;
                for (int j = 0; j < h; j++) {
                    s += n[j] * head[v * h + j];
                }
                out[i][v] = s;
            }
        }
        return out;
    }

    private double[][] gpt2Block(double[][] x, int l) {
        String p = "h." + l + ".";
        int h = c.hiddenSize();
        int len = x.length;
        double[][] qkv = new double[len][];
        for (int i = 0; i < len; i++) {
            double[] n = layerNorm(x[i], t(p + "ln_1.weight"), t(p + "ln_1.bias"));
            qkv[i] = conv1d(n, t(p + "attn.c_attn.weight"), t(p + "attn.c_attn.bias"), 3 * h);
        }
        double[][] q = new double[len][h];
        double[][] k = new double[len][h];
        double[][] v = new double[len][h];
        for (int i = 0; i < len; i++) {
            System.arraycopy(qkv[i], 0, q[i], 0, h);
            System.arraycopy(qkv[i], h, k[i], 0, h);
            System.arraycopy(qkv[i], 2 * h, v[i], 0, h);
        }
        double[][] ctx = attention(q, k, v, 1);
        double[][] a = new double[len][];
        double[][] out = new double[len][];
        for (int i = 0; i < len; i++) {
            double[] o = conv1d(ctx[i], t(p + "attn.c_proj.weight"), t(p + "attn.c_proj.bias"), h);
            a[i] = add(x[i], o);
            double[] n = layerNorm(a[i], t(p + "ln_2.weight"), t(p + "ln_2.bias"));
            double[] u =
                    conv1d(
                            n,
                            t(p + "mlp.c_fc.weight"),
                            t(p + "mlp.c_fc.bias"),
                            c.intermediateSize());
            for (int j = 0; j < u.length; j++) {
                double z = u[j];
                u[j] =
                        c.exactGelu()
                                ? 0.5 * z * (1 + erf(z / Math.sqrt(2)))
                                : 0.5
                                        * z
                                        * (1
                                                + Math.tanh(
                                                        Math.sqrt(2 / Math.PI)
                                                                * (z + 0.044715 * z * z * z)));
            }
            out[i] = add(a[i], conv1d(u, t(p + "mlp.c_proj.weight"), t(p + "mlp.c_proj.bias"), h));
        }
        return out;
    }

    private double[][] llamaBlock(double[][] x, int l) {
        String p = "model.layers." + l + ".";
        int h = c.hiddenSize();
        int kvDim = c.numKvHeads() * c.headDim();
        int len = x.length;
        double[][] q = new double[len][];
        double[][] k = new double[len][];
        double[][] v = new double[len][];
        for (int i = 0; i < len; i++) {
            double[] n = rmsNorm(x[i], t(p + "input_layernorm.weight"));
            q[i] = rope(linear(n, p + "self_attn.q_proj", h), i, c.numHeads());
            k[i] = rope(linear(n, p + "self_attn.k_proj", kvDim), i, c.numKvHeads());
            v[i] = linear(n, p + "self_attn.v_proj", kvDim);
        }
        double[][] ctx = attention(q, k, v, c.groups());
        double[][] out = new double[len][];
        for (int i = 0; i < len; i++) {
            double[] a = add(x[i], linear(ctx[i], p + "self_attn.o_proj", h));
            double[] n = rmsNorm(a, t(p + "post_attention_layernorm.weight"));
            double[] g = linear(n, p + "mlp.gate_proj", c.intermediateSize());
            double[] u = linear(n, p + "mlp.up_proj", c.intermediateSize());
            for (int j = 0; j < g.length; j++) {
                g[j] = g[j] / (1 + Math.exp(-g[j])) * u[j];
            }
            out[i] = add(a, linear(g, p + "mlp.down_proj", h));
        }
        return out;
    }

    /**
     * inv_freq as transformers' ROPE_INIT_FUNCTIONS compute it: the default, or "linear" (divided
     * by factor), or "llama3" (_compute_llama3_parameters, transcribed with its torch.where steps).
     */
    double[] inverseFrequencies() {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(c.ropeTheta(), (double) (2 * i) / d);
        }
        RopeScaling rs = c.ropeScaling();
        if (rs.type() == RopeScaling.Type.LINEAR) {
            for (int i = 0; i < inv.length; i++) {
                inv[i] = inv[i] / rs.factor();
            }
        } else if (rs.type() == RopeScaling.Type.LLAMA3) {
            double factor = rs.factor();
            double oldContextLen = rs.originalMaxPositions();
            double lowFreqWavelen = oldContextLen / rs.lowFreqFactor();
            double highFreqWavelen = oldContextLen / rs.highFreqFactor();
            for (int i = 0; i < inv.length; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                double invLlama = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
                double smoothFactor =
                        (oldContextLen / wavelen - rs.lowFreqFactor())
                                / (rs.highFreqFactor() - rs.lowFreqFactor());
                double smoothed = (1 - smoothFactor) * invLlama / factor + smoothFactor * invLlama;
                boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
                inv[i] = medium ? smoothed : invLlama;
            }
        }
        return inv;
    }

    // rotate_half RoPE per head at position pos
    private double[] rope(double[] x, int pos, int heads) {
        int d = c.headDim();
        int half = d / 2;
        double[] inv = inverseFrequencies();
        double[] out = new double[x.length];
        for (int hd = 0; hd < heads; hd++) {
            int o = hd * d;
            for (int j = 0; j < half; j++) {
                double theta = pos * inv[j];
                double cos = Math.cos(theta);
                double sin = Math.sin(theta);
                double a = x[o + j];
                double b = x[o + j + half];
                out[o + j] = a * cos - b * sin;
                out[o + j + half] = b * cos + a * sin;
            }
        }
        return out;
    }

    // causal softmax attention; query head n reads key/value head n / groups; with Mistral's
    // sliding window W, query i reads keys j with i - W < j <= i
    private double[][] attention(double[][] q, double[][] k, double[][] v, int groups) {
        int len = q.length;
        int d = c.headDim();
        int window = c.slidingWindow();
        double[][] ctx = new double[len][c.hiddenSize()];
        for (int n = 0; n < c.numHeads(); n++) {
            int kvHead = n / groups;
            for (int i = 0; i < len; i++) {
                int first = window > 0 ? Math.max(0, i - window + 1) : 0;
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = first; j <= i; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) {
                        dot += q[i][n * d + e] * k[j][kvHead * d + e];
                    }
                    s[j] = dot / Math.sqrt(d);
                    max = Math.max(max, s[j]);
                }
                double z = 0;
                for (int j = first; j <= i; j++) {
                    s[j] = Math.exp(s[j] - max);
                    z += s[j];
                }
                for (int j = first; j <= i; j++) {
                    for (int e = 0; e < d; e++) {
                        ctx[i][n * d + e] += s[j] / z * v[j][kvHead * d + e];
                    }
                }
            }
        }
        return ctx;
    }

    // Conv1D: y[j] = sum_i x[i] W[i][j] + b[j], W [in, out]
    private static double[] conv1d(double[] x, float[] weight, float[] bias, int out) {
        double[] y = new double[out];
        for (int j = 0; j < out; j++) {
            double s = bias[j];
            for (int i = 0; i < x.length; i++) {
                s += x[i] * weight[i * out + j];
            }
            y[j] = s;
        }
        return y;
    }

    // nn.Linear: y[o] = sum_i W[o][i] x[i] (+ b[o] if the checkpoint has one)
    private double[] linear(double[] x, String module, int out) {
        float[] weight = t(module + ".weight");
        FloatTensor b = w.get(module + ".bias");
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b == null ? 0 : b.data()[o];
            for (int i = 0; i < x.length; i++) {
                s += weight[o * x.length + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    private double[] layerNorm(double[] x, float[] g, float[] b) {
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= x.length;
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
        }
        var /= x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (x[i] - mean) / Math.sqrt(var + c.normEps()) * g[i] + b[i];
        }
        return y;
    }

    private double[] rmsNorm(double[] x, float[] g) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        ms /= x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / Math.sqrt(ms + c.normEps()) * g[i];
        }
        return y;
    }

    private static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    // Numerical Recipes' erfc Chebyshev fit (fractional error below 1.2e-7)
    static double erf(double z) {
        double[] coef = {
            -1.26551223,
            1.00002368,
            0.37409196,
            0.09678418,
            -0.18628806,
            0.27886807,
            -1.13520398,
            1.48851587,
            -0.82215223,
            0.17087277
        };
        double t = 1 / (1 + 0.5 * Math.abs(z));
        double poly = 0;
        for (int i = coef.length - 1; i >= 0; i--) {
            poly = coef[i] + t * poly;
        }
        double y = 1 - t * Math.exp(-z * z + poly);
        return z >= 0 ? y : -y;
    }

    /** Greedy continuation of {@code prompt} by {@code n} tokens (no EOS handling). */
    long[] greedy(long[] prompt, int n) {
        long[] seq = prompt.clone();
        for (int s = 0; s < n; s++) {
            double[][] l = logits(seq);
            double[] last = l[l.length - 1];
            int best = 0;
            for (int v = 1; v < last.length; v++) {
                if (last[v] > last[best]) {
                    best = v;
                }
            }
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = best;
        }
        return java.util.Arrays.copyOfRange(seq, prompt.length, seq.length);
    }
}
