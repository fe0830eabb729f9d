package io.fedstream.worker.prompt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A prompt site's scoring set, the same in {@code ./fedstream prompt-worker} and the feddtpt
 * experiment: a seeded sample of the site's own examples plus the shared public set.
 */
public final class ScoringSets {
    private ScoringSets() {}

    /** The IMDb sentiment labels, in the data's label order (0 negative, 1 positive). */
    public static final List<String> SENTIMENT = List.of("negative", "positive");

    /**
     * The scoring set of {@code site} in {@code round}: {@code batch} of its examples, sampled with
     * a seed of {@code seed}, the site and the round, followed by all of {@code pub}.
     */
    public static List<PromptTuner.Example> sample(
            List<PromptTuner.Example> local,
            List<PromptTuner.Example> pub,
            int batch,
            long seed,
            int site,
            int round) {
        List<PromptTuner.Example> shuffled = new ArrayList<>(local);
        Collections.shuffle(shuffled, new Random(seed * 1_000_003L + site * 1009L + round));
        List<PromptTuner.Example> out =
                new ArrayList<>(shuffled.subList(0, Math.min(batch, shuffled.size())));
        out.addAll(pub);
        return out;
    }
}
