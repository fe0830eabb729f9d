package io.fedstream.worker.train;

import io.fedstream.worker.SiteTrainer.TrainResult;
import java.util.*;
import org.junit.jupiter.api.Test;

class MeasureTest {
    @Test
    void measure() {
        long t0 = System.nanoTime();
        DjlRuntime.engine();
        System.out.println("engine start ms " + (System.nanoTime() - t0) / 1e6 + " threads " + ai.djl.pytorch.jni.JniUtils.getNumThreads() + "/" + ai.djl.pytorch.jni.JniUtils.getNumInteropThreads());
        LoraMlpConfig cfg = LoraMlpConfig.defaults();
        SyntheticTask task = SyntheticTask.forModel(cfg, 7);
        List<SiteData> sites = task.sites(4, 2400, 0.5, 0.2, 50);
        SiteData site = sites.get(0);
        Map<String, float[]> global = LoraMlp.spec(cfg, "m", 1).initialValues();
        try (LoraMlpTrainer tr = new LoraMlpTrainer(cfg, site, TrainConfig.defaults(1));
             LoraMlpEvaluator ev = new LoraMlpEvaluator(cfg, task.globalHoldout(250))) {
            System.out.println("site train " + site.train().size() + " eval " + site.eval().size() + " v0 global " + ev.evaluate(global));
            for (int i = 0; i < 5; i++) tr.train(global, i); // warm-up
            int n = 40;
            double[] total = new double[n];
            double[] fit = new double[n];
            for (int i = 0; i < n; i++) {
                long s = System.nanoTime();
                TrainResult r = tr.train(global, 100 + i);
                total[i] = (System.nanoTime() - s) / 1e6;
                fit[i] = r.metrics().get(LoraMlpTrainer.TRAIN_MILLIS);
                if (i == 0) System.out.println("steps " + r.metrics().get(LoraMlpTrainer.STEPS));
            }
            Arrays.sort(total); Arrays.sort(fit);
            System.out.printf("train() total median %.1f ms p10 %.1f p90 %.1f; fit median %.1f ms%n", total[n/2], total[n/10], total[9*n/10], fit[n/2]);
            long e0 = System.nanoTime();
            for (int i = 0; i < 20; i++) ev.evaluate(global);
            System.out.printf("global eval (2000 ex) %.2f ms%n", (System.nanoTime() - e0) / 1e6 / 20);
        }
    }
}
