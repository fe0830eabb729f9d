package io.fedstream.worker.mlp;

import io.fedstream.worker.data.DirichletPartitioner;
import io.fedstream.worker.data.Sampling;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A generated, seeded classification task for the {@link LoraMlp}: {@code numClasses} Gaussian
 * clusters in {@code inputDim} dimensions. Class means are drawn from {@code N(0, s^2 I)} with
 * {@code s = separation / sqrt(2 inputDim)}, so two means are about {@code separation} apart;
 * examples add isotropic noise with standard deviation {@code noise}.
 *
 * <p>The labels are unrelated to the frozen random base network, so the base alone is near chance
 * ({@code 1 / numClasses}); low-rank adaptation of the base learns the task well. The same seed
 * gives the same task, pool, partition and held-out sets on every machine.
 */
public final class SyntheticTask {
    /** Default distance between class means, in units of the noise. */
    public static final double DEFAULT_SEPARATION = 4.0;

    public static final double DEFAULT_NOISE = 1.0;

    private static final long MEANS = 1;
    private static final long POOL = 2;
    private static final long HOLDOUT = 3;
    private static final long PARTITION = 4;
    private static final long SPLIT = 5;

    private final int inputDim;
    private final int numClasses;
    private final double noise;
    private final long seed;
    private final float[][] means;

    public SyntheticTask(int inputDim, int numClasses, double separation, double noise, long seed) {
        if (inputDim <= 0 || numClasses < 2) {
            throw new IllegalArgumentException("need inputDim > 0 and at least two classes");
        }
        if (!(separation >= 0) || !(noise > 0)) {
            throw new IllegalArgumentException("separation must be >= 0 and noise > 0");
        }
        this.inputDim = inputDim;
        this.numClasses = numClasses;
        this.noise = noise;
        this.seed = seed;
        double s = separation / Math.sqrt(2.0 * inputDim);
        SplittableRandom rnd = new SplittableRandom(Sampling.streamSeed(seed, MEANS));
        means = new float[numClasses][inputDim];
        for (int c = 0; c < numClasses; c++) {
            for (int d = 0; d < inputDim; d++) {
                means[c][d] = (float) (s * Sampling.gaussian(rnd));
            }
        }
    }

    /** The task matching a model configuration, with the default separation and noise. */
    public static SyntheticTask forModel(LoraMlpConfig config, long seed) {
        return new SyntheticTask(
                config.inputDim(), config.numClasses(), DEFAULT_SEPARATION, DEFAULT_NOISE, seed);
    }

    public int inputDim() {
        return inputDim;
    }

    public int numClasses() {
        return numClasses;
    }

    public long seed() {
        return seed;
    }

    /** {@code n} examples with labels drawn uniformly, from the stream {@code stream}. */
    public Examples sample(int n, long stream) {
        SplittableRandom rnd = new SplittableRandom(Sampling.streamSeed(seed, POOL, stream));
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rnd.nextInt(numClasses);
        }
        return draw(labels, rnd);
    }

    /**
     * Exactly {@code perClass} examples of every class, shuffled, from the stream {@code stream}.
     */
    public Examples balanced(int perClass, long stream) {
        SplittableRandom rnd = new SplittableRandom(Sampling.streamSeed(seed, HOLDOUT, stream));
        int[] labels = new int[perClass * numClasses];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % numClasses;
        }
        Sampling.shuffle(labels, rnd);
        return draw(labels, rnd);
    }

    /**
     * The balanced global held-out set on which the federation's global versions are judged. It is
     * drawn from its own stream, disjoint from every site's data.
     */
    public Examples globalHoldout(int perClass) {
        return balanced(perClass, 0);
    }

    /**
     * Non-IID site data: a pool of {@code poolSize} examples is split among {@code numSites} sites
     * by {@link DirichletPartitioner} with concentration {@code alpha}; each site then keeps {@code
     * evalFraction} of its examples (at least one) as its own held-out split.
     */
    public List<SiteData> sites(
            int numSites, int poolSize, double alpha, double evalFraction, int minPerSite) {
        if (!(evalFraction > 0 && evalFraction < 1)) {
            throw new IllegalArgumentException("evalFraction must be in (0, 1): " + evalFraction);
        }
        Examples pool = sample(poolSize, 0);
        int[][] parts =
                DirichletPartitioner.partition(
                        pool.labels(),
                        numClasses,
                        numSites,
                        alpha,
                        Math.max(2, minPerSite),
                        Sampling.streamSeed(seed, PARTITION));
        List<SiteData> sites = new ArrayList<>(numSites);
        for (int s = 0; s < numSites; s++) {
            int[] rows = parts[s].clone();
            Sampling.shuffle(rows, new SplittableRandom(Sampling.streamSeed(seed, SPLIT, s)));
            int nEval =
                    (int)
                            Math.max(
                                    1,
                                    Math.min(
                                            rows.length - 1,
                                            Math.round(rows.length * evalFraction)));
            int[] eval = java.util.Arrays.copyOfRange(rows, 0, nEval);
            int[] train = java.util.Arrays.copyOfRange(rows, nEval, rows.length);
            sites.add(new SiteData(s, pool.subset(train), pool.subset(eval)));
        }
        return sites;
    }

    /**
     * Accuracy on {@code data} of the nearest-class-mean rule with the true means: the
     * Bayes-optimal classifier for balanced classes, so the ceiling any model can reach on the
     * task.
     */
    public double oracleAccuracy(Examples data) {
        if (data.size() == 0) {
            return Double.NaN;
        }
        float[] x = data.features();
        long correct = 0;
        for (int i = 0; i < data.size(); i++) {
            int best = -1;
            double bestDistance = Double.POSITIVE_INFINITY;
            for (int c = 0; c < numClasses; c++) {
                double dist = 0;
                for (int d = 0; d < inputDim; d++) {
                    double diff = x[i * inputDim + d] - means[c][d];
                    dist += diff * diff;
                }
                if (dist < bestDistance) {
                    bestDistance = dist;
                    best = c;
                }
            }
            if (best == data.label(i)) {
                correct++;
            }
        }
        return (double) correct / data.size();
    }

    private Examples draw(int[] labels, SplittableRandom rnd) {
        float[] x = new float[labels.length * inputDim];
        for (int i = 0; i < labels.length; i++) {
            float[] mu = means[labels[i]];
            for (int d = 0; d < inputDim; d++) {
                x[i * inputDim + d] = (float) (mu[d] + noise * Sampling.gaussian(rnd));
            }
        }
        return new Examples(inputDim, x, labels);
    }
}
