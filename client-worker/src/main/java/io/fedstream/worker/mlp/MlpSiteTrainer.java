package io.fedstream.worker.mlp;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.RoundAdam;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Real local training of a site's {@link LoraMlp} adapter with DJL on the PyTorch engine.
 *
 * <p>{@link #train} writes the global adapter into the model, runs {@code localEpochs} epochs of
 * mini-batch Adam (fresh optimizer state every round) on softmax cross-entropy over the site's
 * training examples, and returns {@code trained - global}. Only the adapter is trained; the frozen
 * base never changes. Batch order and dropout derive from the configured seed, the base version and
 * the number of rounds this trainer has run, so a run is reproducible.
 *
 * <p>One DJL model lives as long as this trainer; every round uses its own DJL {@link Trainer},
 * every batch its own sub-manager. Calls on one trainer are serialised; several trainers may run on
 * different threads (their gradient-recording sections are serialised JVM-wide, as DJL's PyTorch
 * gradient collector allows one collector at a time).
 */
public final class MlpSiteTrainer implements SiteTrainer {
    public static final String TRAIN_LOSS_BEFORE = "train_loss_before";
    public static final String TRAIN_LOSS_AFTER = "train_loss_after";
    public static final String TRAIN_ACCURACY_AFTER = "train_accuracy_after";
    public static final String EVAL_LOSS_BEFORE = "eval_loss_before";
    public static final String EVAL_ACCURACY_BEFORE = "eval_accuracy_before";
    public static final String EVAL_LOSS = "eval_loss";
    public static final String EVAL_ACCURACY = "eval_accuracy";

    // DJL's PtGradientCollector refuses a second collector anywhere in the JVM.

    private final LoraMlpConfig config;
    private final Examples train;
    private final Examples eval;
    private final TrainConfig trainConfig;
    private final LoraMlpSession session;
    private long rounds;

    public MlpSiteTrainer(
            LoraMlpConfig config, Examples train, Examples eval, TrainConfig trainConfig) {
        if (train.size() == 0) {
            throw new IllegalArgumentException("a site needs training examples");
        }
        if (train.dim() != config.inputDim() || eval.dim() != config.inputDim()) {
            throw new IllegalArgumentException("examples do not match the model's input dimension");
        }
        this.config = config;
        this.train = train;
        this.eval = eval;
        this.trainConfig = trainConfig;
        this.session = new LoraMlpSession(config, "lora-mlp-site");
    }

    public MlpSiteTrainer(LoraMlpConfig config, SiteData site, TrainConfig trainConfig) {
        this(config, site.train(), site.eval(), trainConfig);
    }

    @Override
    public FederationSpec federationSpec(String federationId, long seed) {
        return LoraMlp.spec(config, federationId, seed);
    }

    @Override
    public synchronized TrainResult train(Map<String, float[]> global, long baseVersion) {
        Adapters.requireLayout(global, session.layout());
        Map<String, float[]> start = Adapters.copy(global);
        long round = rounds++;
        session.loadAdapter(start);
        EvalResult trainBefore = session.evaluate(train);
        EvalResult evalBefore = session.evaluate(eval);

        long t0 = System.nanoTime();
        long steps = fit(Sampling.streamSeed(trainConfig.seed(), baseVersion, round));
        long millis = (System.nanoTime() - t0) / 1_000_000;

        Map<String, float[]> trained = session.readAdapter();
        EvalResult trainAfter = session.evaluate(train);
        EvalResult evalAfter = session.evaluate(eval);
        Map<String, float[]> delta = Adapters.delta(trained, start);

        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put(TRAIN_LOSS_BEFORE, trainBefore.loss());
        metrics.put(TRAIN_LOSS_AFTER, trainAfter.loss());
        metrics.put(TRAIN_ACCURACY_AFTER, trainAfter.accuracy());
        metrics.put(EVAL_LOSS_BEFORE, evalBefore.loss());
        metrics.put(EVAL_ACCURACY_BEFORE, evalBefore.accuracy());
        metrics.put(EVAL_LOSS, evalAfter.loss());
        metrics.put(EVAL_ACCURACY, evalAfter.accuracy());
        metrics.put(STEPS, (double) steps);
        metrics.put(TRAIN_MILLIS, (double) millis);
        metrics.put(DELTA_NORM, Adapters.l2Norm(delta));
        return new TrainResult(delta, train.size(), metrics);
    }

    @Override
    public synchronized EvalResult evaluate(Map<String, float[]> adapter) {
        session.loadAdapter(adapter);
        return session.evaluate(eval);
    }

    /** Runs the local epochs from the adapter currently loaded; returns the number of steps. */
    private long fit(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        session.block().seedDropout(random.nextLong());
        int[] order = Sampling.range(train.size());
        long steps = 0;
        // grad mode off outside the collector, whatever this thread's default (see DjlRuntime)
        try (DjlRuntime.NoGrad noGrad = DjlRuntime.noGrad();
                NDManager roundScope = session.manager().newSubManager()) {
            session.scopeTrainable(roundScope);
            // fresh Adam state every round, freed with the round's scope
            DefaultTrainingConfig djlConfig =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    new RoundAdam((float) trainConfig.learningRate(), roundScope))
                            .optDevices(new Device[] {Device.cpu()});
            try (Trainer trainer = session.model().newTrainer(djlConfig)) {
                for (int epoch = 0; epoch < trainConfig.localEpochs(); epoch++) {
                    Sampling.shuffle(order, random);
                    for (int from = 0; from < order.length; from += trainConfig.batchSize()) {
                        int to = Math.min(order.length, from + trainConfig.batchSize());
                        step(trainer, order, from, to);
                        steps++;
                    }
                }
            }
        }
        return steps;
    }

    private void step(Trainer trainer, int[] order, int from, int to) {
        try (NDManager batch = trainer.getManager().newSubManager()) {
            NDArray x =
                    OwnedArrays.create(
                            batch,
                            train.gatherFeatures(order, from, to),
                            new Shape(to - from, train.dim()));
            int[] labels = train.gatherLabels(order, from, to);
            float[] y = new float[labels.length];
            for (int i = 0; i < y.length; i++) {
                y[i] = labels[i];
            }
            NDArray target = OwnedArrays.create(batch, y, new Shape(y.length));
            DjlRuntime.GRADIENT_LOCK.lock();
            try {
                try (GradientCollector collector = trainer.newGradientCollector()) {
                    NDList logits = trainer.forward(new NDList(x));
                    NDArray loss = trainer.getLoss().evaluate(new NDList(target), logits);
                    collector.backward(loss);
                }
                trainer.step();
            } finally {
                DjlRuntime.GRADIENT_LOCK.unlock();
            }
        }
    }

    public LoraMlpConfig config() {
        return config;
    }

    public TrainConfig trainConfig() {
        return trainConfig;
    }

    /** Number of local training examples. */
    public int numTrainExamples() {
        return train.size();
    }

    // for tests: the model behind this trainer
    LoraMlpSession session() {
        return session;
    }

    @Override
    public synchronized void close() {
        session.close();
    }
}
