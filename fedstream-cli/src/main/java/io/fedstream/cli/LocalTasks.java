package io.fedstream.cli;

import io.fedstream.worker.sites.QaRetrieval;
import io.fedstream.worker.sites.SiteTrainers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/** The local run's tasks, their defaults, and the cache of their site-alone baselines. */
public final class LocalTasks {
    /** The default task's settings, as the worker's {@link QaRetrieval} defines them. */
    public static final int ADAPTED_LAYERS = QaRetrieval.ADAPTED_LAYERS;

    public static final int QUESTION_TOKENS = QaRetrieval.QUESTION_TOKENS;

    public static final int ANSWER_TOKENS = QaRetrieval.ANSWER_TOKENS;

    public static final int BATCH_SIZE = QaRetrieval.BATCH_SIZE;

    public static final double SCALE = QaRetrieval.SCALE;

    private LocalTasks() {}

    public static Path defaultCacheDir() {
        return SiteTrainers.defaultCacheDir();
    }

    /** The default task: MiniLM + LoRA retrieval on MedQuAD ({@link RetrievalLocalTask}). */
    public static RetrievalLocalTask retrieval(
            Path data,
            int sites,
            int trainPerSite,
            int testPerSite,
            int localEpochs,
            double learningRate,
            long seed,
            Path cacheDir)
            throws IOException {
        return new RetrievalLocalTask(
                data,
                new RetrievalLocalTask.Settings(
                        sites,
                        QaRetrieval.localSettings(trainPerSite, testPerSite, seed),
                        ADAPTED_LAYERS,
                        QaRetrieval.localTraining(localEpochs, learningRate, seed),
                        cacheDir == null ? null : cacheDir.resolve("embeddings")));
    }

    /**
     * {@link LocalTask#siteAlone}, read from {@code cacheDir} when a run with the same {@link
     * LocalTask#cacheKey()}, rounds and seed computed it before (the file records the key), else
     * computed and written there.
     */
    static LocalTask.Score siteAloneCached(LocalTask task, int rounds, Path cacheDir, long seed)
            throws IOException {
        String key = task.cacheKey();
        if (key == null || cacheDir == null) {
            return task.siteAlone(rounds);
        }
        String full = key + "/rounds=" + rounds + "/seed=" + seed;
        Path file = cacheDir.resolve("baselines").resolve("site-alone-" + sha(full) + ".txt");
        if (Files.isRegularFile(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.size() == 3 && lines.get(0).equals(full)) {
                String[] head = lines.get(1).split(" ");
                List<Double> perSite = new ArrayList<>();
                for (String v : lines.get(2).trim().split(" ")) {
                    if (!v.isEmpty()) {
                        perSite.add(Double.parseDouble(v));
                    }
                }
                System.out.println("site-alone baseline from the cache: " + file);
                return new LocalTask.Score(
                        Double.parseDouble(head[0]), Double.parseDouble(head[1]), perSite);
            }
        }
        System.out.printf(
                "site-alone baseline: every site trains %d rounds alone (cached in %s)...%n",
                rounds, file.getParent());
        LocalTask.Score s = task.siteAlone(rounds);
        Files.createDirectories(file.getParent());
        StringBuilder per = new StringBuilder();
        for (double v : s.perSite()) {
            per.append(Double.toString(v)).append(' ');
        }
        Path tmp = Files.createTempFile(file.getParent(), "site-alone-", ".tmp");
        Files.write(
                tmp,
                List.of(full, s.metric() + " " + s.loss(), per.toString().trim()),
                StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return s;
    }

    /** {@code site=0.812 ...} for the console. */
    static String perSite(List<String> siteIds, List<Double> values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(siteIds.size(), values.size()); i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(siteIds.get(i))
                    .append('=')
                    .append(String.format(Locale.ROOT, "%.3f", values.get(i)));
        }
        return sb.toString();
    }

    private static String sha(String s) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(s.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 24);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
