package io.fedstream.cli;

import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.OnnxWeights;
import io.fedstream.worker.data.ImdbReviews;
import io.fedstream.worker.prompt.BlackBoxModel;
import io.fedstream.worker.prompt.ChatCompletionsClient;
import io.fedstream.worker.prompt.DjlSentenceEncoder;
import io.fedstream.worker.prompt.EncoderClassifier;
import io.fedstream.worker.prompt.PromptTuner;
import io.fedstream.worker.prompt.PromptWorker;
import io.fedstream.worker.prompt.ScoringSets;
import io.fedstream.worker.prompt.TokenSpace;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream prompt-worker}: one FedDTPT site on IMDb sentiment against a Kafka cluster,
 * tuning prompts through an OpenAI-compatible endpoint or the local zero-shot MiniLM.
 */
@Command(
        name = "prompt-worker",
        mixinStandardHelpOptions = true,
        description =
                "One FedDTPT site: follows global-prompts, tunes the newest prompt on its share of"
                        + " IMDb (scripts/fetch-datasets.sh) through a black-box model and"
                        + " publishes PromptUpdates. Without --endpoint the black box is the local"
                        + " zero-shot all-MiniLM-L6-v2 classifier.")
final class PromptWorkerCommand implements Callable<Integer> {
    @Mixin KafkaOptions kafka = new KafkaOptions();

    @Option(
            names = "--site-id",
            description =
                    "This site's id in its PromptUpdates (default site-<site-index>); on Kubernetes"
                            + " the site's name (k8s/base/sites/<site>/prompt-worker.yaml).")
    String siteId;

    @Option(names = "--federation", defaultValue = "imdb", description = "Federation id.")
    String federation;

    @Option(names = "--site-index", required = true, description = "This site's index, 0-based.")
    int siteIndex;

    @Option(names = "--sites", defaultValue = "10", description = "Sites sharing the data (IID).")
    int sites;

    @Option(names = "--train-per-site", defaultValue = "64", description = "Examples per site.")
    int trainPerSite;

    @Option(names = "--public-per-class", defaultValue = "8", description = "Public set per class.")
    int publicPerClass;

    @Option(names = "--batch", defaultValue = "32", description = "Local examples per scoring.")
    int batch;

    @Option(names = "--budget", defaultValue = "768", description = "API calls per update.")
    int budget;

    @Option(names = "--neighbours", defaultValue = "16", description = "Candidates per token.")
    int neighbours;

    @Option(names = "--prompt-tokens", defaultValue = "12", description = "Longest prompt.")
    int promptTokens;

    @Option(names = "--updates", defaultValue = "5", description = "Updates to publish, then stop.")
    int updates;

    @Option(names = "--timeout", defaultValue = "PT1H", description = "Give up after (ISO-8601).")
    Duration timeout;

    @Option(
            names = "--endpoint",
            description = "OpenAI-compatible base URL, e.g. https://api.openai.com/v1.")
    URI endpoint;

    @Option(names = "--model", defaultValue = "gpt-4o-mini", description = "Model name sent.")
    String model;

    @Option(
            names = "--api-key-env",
            defaultValue = "OPENAI_API_KEY",
            description = "Environment variable holding the API key.")
    String apiKeyEnv;

    @Option(names = "--seed", defaultValue = "42", description = "Data and search seed.")
    long seed;

    @Option(names = "--imdb", description = "reviews.json (default: the fetch script's cache).")
    Path imdb;

    @Override
    public Integer call() throws Exception {
        if (siteIndex < 0 || siteIndex >= sites) {
            System.err.println("--site-index must be in [0, " + sites + ")");
            return 2;
        }
        List<ImdbReviews.Review> all = ImdbReviews.read(imdb != null ? imdb : ImdbReviews.locate());
        Collections.shuffle(all = new ArrayList<>(all), new Random(seed));
        List<PromptTuner.Example> pub = new ArrayList<>();
        List<PromptTuner.Example> rest = new ArrayList<>();
        int[] count = new int[2];
        for (ImdbReviews.Review r : all) {
            PromptTuner.Example e =
                    new PromptTuner.Example(r.text(), ScoringSets.SENTIMENT.get(r.label()));
            if (count[r.label()] < publicPerClass) {
                count[r.label()]++;
                pub.add(e);
            } else {
                rest.add(e);
            }
            if (rest.size() >= sites * trainPerSite) {
                break;
            }
        }
        List<PromptTuner.Example> mine =
                rest.subList(siteIndex * trainPerSite, (siteIndex + 1) * trainPerSite);
        String site = siteId != null ? siteId : "site-" + siteIndex;
        OnnxWeights onnx = MiniLm.onnx();
        TokenSpace space = TokenSpace.miniLm(onnx);
        DjlSentenceEncoder encoder = null;
        BlackBoxModel blackBox;
        if (endpoint != null) {
            blackBox = new ChatCompletionsClient(endpoint, model, System.getenv(apiKeyEnv));
        } else {
            encoder = DjlSentenceEncoder.miniLm(onnx, 128);
            EncoderClassifier local = new EncoderClassifier(encoder, ScoringSets.SENTIMENT);
            List<String> texts = new ArrayList<>();
            mine.forEach(e -> texts.add(e.text()));
            pub.forEach(e -> texts.add(e.text()));
            local.warm(texts);
            blackBox = local;
        }
        PromptWorker.Config config =
                new PromptWorker.Config(
                        kafka.bootstrap,
                        federation,
                        site,
                        Topics.GLOBAL_PROMPTS,
                        Topics.PROMPT_UPDATES,
                        new PromptTuner.Config(
                                budget, neighbours, 1, promptTokens, seed + siteIndex),
                        kafka.clientProperties());
        try {
            List<PromptUpdate> sent =
                    new PromptWorker(
                                    config,
                                    blackBox,
                                    space,
                                    n -> ScoringSets.sample(mine, pub, batch, seed, siteIndex, n))
                            .run(updates, timeout);
            for (PromptUpdate u : sent) {
                System.out.printf(
                        "%s from version %d: accuracy %.3f -> %.3f, %d calls: %s%n",
                        u.getUpdateId(),
                        u.getBaseVersion(),
                        u.getBaseAccuracy(),
                        u.getAccuracy(),
                        u.getApiCalls(),
                        String.join(" ", u.getTokens().stream().map(t -> t.getToken()).toList()));
            }
            return sent.size() == updates ? 0 : 1;
        } finally {
            if (encoder != null) {
                encoder.close();
            }
        }
    }
}
