package io.fedstream.worker.djl;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The one place that starts DJL's PyTorch engine for the worker, configured for small CPU models
 * before the native library loads: one intra-op and one inter-op thread (measured faster than the
 * default on two cores for these tiny matrices), offline (the native libraries come from the {@code
 * pytorch-native-cpu} jar, nothing is downloaded) and without DJL's telemetry. Values given on the
 * command line ({@code -D...}) win over these defaults.
 */
public final class DjlRuntime {
    public static final String ENGINE = "PyTorch";
    public static final String NUM_THREADS = "ai.djl.pytorch.num_threads";
    public static final String NUM_INTEROP_THREADS = "ai.djl.pytorch.num_interop_threads";

    /**
     * DJL allows one gradient collector per JVM: every training step (forward, backward, optimizer
     * update) of every model in this process holds this lock, so trainers of different models can
     * share a JVM (e.g. several sites in {@code ./fedstream local}).
     */
    public static final java.util.concurrent.locks.ReentrantLock GRADIENT_LOCK =
            new java.util.concurrent.locks.ReentrantLock();

    private DjlRuntime() {}

    /** Sets the engine defaults (if unset); effective only before the engine first starts. */
    public static synchronized void configure() {
        setIfAbsent(NUM_THREADS, "1");
        setIfAbsent(NUM_INTEROP_THREADS, "1");
        setIfAbsent("ai.djl.offline", "true");
        // read through Utils.getEnvOrSystemProperty: the environment variable wins if set
        setIfAbsent("OPT_OUT_TRACKING", "true");
    }

    /** The configured PyTorch engine, started on first use. */
    public static Engine engine() {
        configure();
        return Engine.getEngine(ENGINE);
    }

    /**
     * Turns autograd recording off on the calling thread until closed. PyTorch's grad mode is
     * thread-local and DJL only switches it off on the thread that loads the engine, so on any
     * other thread evaluation would record graphs; use this around inference and parameter writes.
     */
    public static NoGrad noGrad() {
        engine();
        return new NoGrad();
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** Restores the thread's previous grad mode on close. */
    public static final class NoGrad implements AutoCloseable {
        private final boolean previous;

        private NoGrad() {
            previous = JniUtils.isGradMode();
            if (previous) {
                JniUtils.setGradMode(false);
            }
        }

        @Override
        public void close() {
            if (previous) {
                JniUtils.setGradMode(true);
            }
        }
    }

    /**
     * One optimizer step of {@code trainer} under {@link #GRADIENT_LOCK}: zeroes the gradients of
     * {@code trained} (PyTorch accumulates into them; DJL's update clears them, this also covers a
     * step that failed between backward and update), runs {@code loss} (forward and loss) inside a
     * gradient collector, back-propagates it and updates the parameters.
     *
     * @return the loss before the update
     */
    public static float step(
            ai.djl.training.Trainer trainer,
            java.util.Collection<ai.djl.nn.Parameter> trained,
            java.util.function.Function<ai.djl.training.Trainer, ai.djl.ndarray.NDArray> loss) {
        return step(
                trained,
                trainer::newGradientCollector,
                collector -> {
                    ai.djl.ndarray.NDArray l = loss.apply(trainer);
                    float value = l.getFloat();
                    collector.backward(l);
                    return value;
                },
                trainer::step);
    }

    /** A loss whose gradients the function back-propagates itself, in one or more passes. */
    @FunctionalInterface
    public interface Gradients {
        /**
         * Computes the loss and accumulates its gradients into the trained parameters.
         *
         * @param collector the step's gradient collector, for its backward passes
         * @return the loss
         */
        float compute(ai.djl.training.GradientCollector collector);
    }

    /**
     * One optimizer step under {@link #GRADIENT_LOCK}, as {@link #step(ai.djl.training.Trainer,
     * java.util.Collection, java.util.function.Function)} but with the backward passes left to
     * {@code gradients} and the update to {@code update}.
     *
     * @return the loss before the update
     */
    public static float step(
            java.util.Collection<ai.djl.nn.Parameter> trained,
            java.util.function.Supplier<ai.djl.training.GradientCollector> collectors,
            Gradients gradients,
            Runnable update) {
        GRADIENT_LOCK.lock();
        try {
            for (ai.djl.nn.Parameter p : trained) {
                ai.djl.ndarray.NDArray a = p.getArray();
                if (a.hasGradient()) {
                    try (ai.djl.ndarray.NDArray g = a.getGradient()) {
                        g.subi(g);
                    }
                }
            }
            float value;
            try (ai.djl.training.GradientCollector collector = collectors.get()) {
                value = gradients.compute(collector);
            }
            update.run();
            return value;
        } finally {
            GRADIENT_LOCK.unlock();
        }
    }
}
