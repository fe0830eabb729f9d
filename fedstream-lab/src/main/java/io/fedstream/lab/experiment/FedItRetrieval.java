package io.fedstream.lab.experiment;

import io.fedstream.cli.LocalTasks;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.RetrievalSiteTrainer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.sites.QaRetrieval;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code ./fedstream experiment fedit --task retrieval}: FedIT on the default task of the local
 * run, in one process: each site alone, synchronous FedAvg, and centralised training on the union
 * of the sites' questions, with the same local epochs per round. Asynchronous rounds run through
 * the real job in {@code ./fedstream experiment async}, not in this loop.
 */
final class FedItRetrieval {
    private FedItRetrieval() {}

    /** Per site: held-out recall@1 and MRR of each method; local also on every site's questions. */
    record Row(String site, int train, int test, Map<String, double[]> byMethod) {}

    static String run(
            List<InstructionExample> all,
            int trainPerSite,
            int testPerSite,
            int rounds,
            int localEpochs,
            double lr,
            long seed,
            List<String> methods,
            Path cache,
            PrintStream log)
            throws Exception {
        QaRetrieval task =
                QaRetrieval.split(
                        all,
                        new QaRetrieval.Settings(
                                trainPerSite,
                                testPerSite,
                                LocalTasks.QUESTION_TOKENS,
                                LocalTasks.ANSWER_TOKENS,
                                seed));
        RetrievalSiteTrainer.Options options =
                new RetrievalSiteTrainer.Options(
                        LocalTasks.QUESTION_TOKENS,
                        LocalTasks.BATCH_SIZE,
                        localEpochs,
                        lr,
                        LocalTasks.SCALE,
                        seed);
        try (LoraBert model =
                QaRetrieval.miniLm(QaRetrieval.defaultLora(LocalTasks.ADAPTED_LAYERS), seed)) {
            List<RetrievalSiteTrainer> ts = task.trainers(model, options, cache);
            Map<String, float[]> init = model.adapterSpec("fedit", seed).initialValues();
            Map<String, double[][]> results = new LinkedHashMap<>();
            results.put("pretrained", score(ts, List.of(init)));
            if (methods.contains("local")) {
                List<Map<String, float[]>> alone = new ArrayList<>();
                for (RetrievalSiteTrainer t : ts) {
                    alone.add(t.trainAlone(init, rounds));
                }
                results.put("local", score(ts, alone));
                results.put("local, every site's questions", union(ts, alone));
                log.printf(Locale.ROOT, "local: mean %.3f%n", mean(results.get("local")[0]));
            }
            if (methods.contains("fedavg")) {
                Map<String, float[]> g = Adapters.copy(init);
                for (int r = 0; r < rounds; r++) {
                    g = fedAvgRound(ts, g, r);
                    log.printf(
                            Locale.ROOT,
                            "fedavg round %d: mean %.3f%n",
                            r + 1,
                            mean(score(ts, List.of(g))[0]));
                }
                results.put("fedavg", score(ts, List.of(g)));
            }
            if (methods.contains("central")) {
                RetrievalSiteTrainer central = task.centralTrainer(model, options, cache);
                Map<String, float[]> c = central.trainAlone(init, rounds);
                results.put("central", score(ts, List.of(c)));
                log.printf(Locale.ROOT, "central: mean %.3f%n", mean(results.get("central")[0]));
            }
            return markdown(task, results);
        }
    }

    private static Map<String, float[]> fedAvgRound(
            List<RetrievalSiteTrainer> ts, Map<String, float[]> g, int round) {
        Map<String, double[]> sum = new LinkedHashMap<>();
        double n = 0;
        for (RetrievalSiteTrainer t : ts) {
            SiteTrainer.TrainResult res = t.train(g, round);
            n += res.numExamples();
            for (Map.Entry<String, float[]> e : res.delta().entrySet()) {
                double[] s = sum.computeIfAbsent(e.getKey(), k -> new double[e.getValue().length]);
                for (int i = 0; i < s.length; i++) {
                    s[i] += res.numExamples() * (double) e.getValue()[i];
                }
            }
        }
        Map<String, float[]> next = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : g.entrySet()) {
            float[] v = e.getValue().clone();
            double[] s = sum.get(e.getKey());
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (v[i] + s[i] / n);
            }
            next.put(e.getKey(), v);
        }
        return next;
    }

    // [0][site] recall@1 on the site's own held-out questions, [1][site] MRR; one adapter for all
    // sites, or one per site
    private static double[][] score(
            List<RetrievalSiteTrainer> ts, List<Map<String, float[]>> adapters) {
        double[][] out = new double[2][ts.size()];
        for (int i = 0; i < ts.size(); i++) {
            RetrievalSiteTrainer.Ranking r =
                    ts.get(i).rank(adapters.get(adapters.size() == 1 ? 0 : i));
            out[0][i] = r.recallAt1();
            out[1][i] = r.mrr();
        }
        return out;
    }

    // each site's own adapter on every site's held-out questions (mean over those sites)
    private static double[][] union(
            List<RetrievalSiteTrainer> ts, List<Map<String, float[]>> adapters) {
        double[][] out = new double[2][ts.size()];
        for (int i = 0; i < ts.size(); i++) {
            double[][] s = score(ts, List.of(adapters.get(i)));
            out[0][i] = mean(s[0]);
            out[1][i] = mean(s[1]);
        }
        return out;
    }

    static double mean(double[] xs) {
        double s = 0;
        for (double x : xs) {
            s += x;
        }
        return s / xs.length;
    }

    private static String markdown(QaRetrieval task, Map<String, double[][]> results) {
        StringBuilder sb = new StringBuilder("| site | train | test |");
        StringBuilder rule = new StringBuilder("|---|---:|---:|");
        for (String m : results.keySet()) {
            sb.append(' ').append(m).append(" R@1 | ").append(m).append(" MRR |");
            rule.append("---:|---:|");
        }
        sb.append('\n').append(rule).append('\n');
        List<QaRetrieval.SiteSplit> sites = task.sites();
        for (int i = 0; i < sites.size(); i++) {
            QaRetrieval.SiteSplit s = sites.get(i);
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %d | %d |",
                            s.name(),
                            s.train().size(),
                            s.test().size()));
            for (double[][] r : results.values()) {
                sb.append(String.format(Locale.ROOT, " %.3f | %.3f |", r[0][i], r[1][i]));
            }
            sb.append('\n');
        }
        sb.append("| **mean** | | |");
        for (double[][] r : results.values()) {
            sb.append(String.format(Locale.ROOT, " **%.3f** | **%.3f** |", mean(r[0]), mean(r[1])));
        }
        sb.append('\n');
        return sb.toString();
    }
}
