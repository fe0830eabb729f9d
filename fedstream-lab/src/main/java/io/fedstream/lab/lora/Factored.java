package io.fedstream.lab.lora;

import java.util.List;

/**
 * Products of stacked factors, X = L·R with L (out × m) and R (m × in), m small, handled without
 * ever forming X: QR both sides, L = Q_L·R_L and Rᵀ = Q_R·R_R, so X = Q_L·(R_L·R_Rᵀ)·Q_Rᵀ and
 * everything about X (its Frobenius norm, its SVD) is that of the small core C = R_L·R_Rᵀ (at most
 * m × m) up to the orthogonal Q's. Cost O((out + in)·m²) for the QRs and O(m³) for the core.
 */
final class Factored {
    private Factored() {}

    /** The QRs of both sides and the core C (pl × pr, column-major). */
    record Core(HouseholderQr left, HouseholderQr right, double[] c, int pl, int pr) {}

    /**
     * Factors L (out × m, column-major) and Rᵀ (in × m, column-major); both arrays are overwritten.
     */
    static Core core(double[] l, int out, double[] rt, int in, int m) {
        HouseholderQr left = new HouseholderQr(l, out, m);
        HouseholderQr right = new HouseholderQr(rt, in, m);
        int pl = left.rank();
        int pr = right.rank();
        double[] rl = left.r();
        double[] rr = right.r();
        double[] c = new double[pl * pr];
        // C[i][j] = Σ_k R_L[i][k]·R_R[j][k]; R_L[i][k] = 0 for i > k.
        for (int k = 0; k < m; k++) {
            int il = Math.min(k + 1, pl);
            int jl = Math.min(k + 1, pr);
            for (int j = 0; j < jl; j++) {
                double y = rr[k * pr + j];
                if (y == 0) {
                    continue;
                }
                int cj = j * pl;
                int rk = k * pl;
                for (int i = 0; i < il; i++) {
                    c[cj + i] += rl[rk + i] * y;
                }
            }
        }
        return new Core(left, right, c, pl, pr);
    }

    /** ‖L·R‖_F for L (out × m) and Rᵀ (in × m), column-major; both arrays are overwritten. */
    static double norm(double[] l, int out, double[] rt, int in, int m) {
        double[] c = core(l, out, rt, in, m).c();
        return Math.sqrt(Svd.dot(c, 0, c, 0, c.length));
    }

    /** Copies coeff·B (out × r, row-major) into columns [col, col + r) of l (out rows). */
    static void putB(double[] l, int out, int col, float[] b, int r, double coeff) {
        for (int i = 0; i < out; i++) {
            int bi = i * r;
            for (int j = 0; j < r; j++) {
                l[(col + j) * out + i] = coeff * b[bi + j];
            }
        }
    }

    /** Copies coeff·B (out × r, row-major, float64) into columns [col, col + r) of l. */
    static void putB(double[] l, int out, int col, double[] b, int r, double coeff) {
        for (int i = 0; i < out; i++) {
            int bi = i * r;
            for (int j = 0; j < r; j++) {
                l[(col + j) * out + i] = coeff * b[bi + j];
            }
        }
    }

    /** Copies the rows of A (r × in, row-major) into columns [col, col + r) of rt (in rows). */
    static void putA(double[] rt, int in, int col, float[] a, int r) {
        for (int j = 0; j < r; j++) {
            int dst = (col + j) * in;
            int src = j * in;
            for (int c = 0; c < in; c++) {
                rt[dst + c] = a[src + c];
            }
        }
    }

    /** Copies the rows of A (r × in, row-major, float64) into columns [col, col + r) of rt. */
    static void putA(double[] rt, int in, int col, double[] a, int r) {
        System.arraycopy(a, 0, rt, col * in, r * in);
    }

    /**
     * L = [p₁B₁ … p_kB_k] (out × kr) and Rᵀ = [A₁ᵀ … A_kᵀ] (in × kr), pᵢ = wᵢ / Σ w, so that L·R =
     * M = Σ pᵢ·Bᵢ·Aᵢ. Returns {L, Rᵀ}, column-major.
     */
    static double[][] stack(LoraPair pair, List<LoraFactors> updates, double totalWeight) {
        int r = pair.rank();
        int m = Math.multiplyExact(updates.size(), r);
        double[] l = new double[Math.multiplyExact(pair.out(), m)];
        double[] rt = new double[Math.multiplyExact(pair.in(), m)];
        for (int u = 0; u < updates.size(); u++) {
            LoraFactors f = updates.get(u);
            putB(l, pair.out(), u * r, f.b(), r, f.weight() / totalWeight);
            putA(rt, pair.in(), u * r, f.a(), r);
        }
        return new double[][] {l, rt};
    }
}
