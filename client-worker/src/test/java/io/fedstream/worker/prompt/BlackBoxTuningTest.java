package io.fedstream.worker.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.OnnxWeights;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real local black box (all-MiniLM-L6-v2 on DJL, zero-shot) tuned by the real optimiser,
 * directly and through the loopback chat-completions server.
 */
class BlackBoxTuningTest {
    private static final List<String> POSITIVE =
            List.of(
                    "A wonderful film, I loved every minute of it.",
                    "Brilliant acting and a moving story.",
                    "One of the best movies I have seen this year.",
                    "Funny, warm and beautifully shot.",
                    "The cast is superb and the script is sharp.",
                    "I would happily watch it again tomorrow.",
                    "A delightful surprise with a great soundtrack.",
                    "Gripping from start to finish.",
                    "An absolute joy for the whole family.",
                    "Smart, touching and very well made.",
                    "The director did a fantastic job.",
                    "Highly recommended, a real gem.");
    private static final List<String> NEGATIVE =
            List.of(
                    "A dull film, I was bored the whole time.",
                    "Terrible acting and a silly story.",
                    "One of the worst movies I have seen this year.",
                    "Unfunny, cold and badly shot.",
                    "The cast is wasted and the script is lazy.",
                    "I want those two hours of my life back.",
                    "A tiresome mess with an annoying soundtrack.",
                    "Boring from start to finish.",
                    "An absolute chore to sit through.",
                    "Stupid, shallow and poorly made.",
                    "The director did an awful job.",
                    "Avoid it, a real waste of money.");
    private static final List<String> LABELS = List.of("negative", "positive");

    private static DjlSentenceEncoder encoder;
    private static TokenSpace space;

    @BeforeAll
    static void load() throws Exception {
        OnnxWeights onnx = MiniLm.onnx();
        encoder = DjlSentenceEncoder.miniLm(onnx, 64);
        space = TokenSpace.miniLm(onnx);
    }

    @AfterAll
    static void close() {
        encoder.close();
    }

    private static List<PromptTuner.Example> examples() {
        List<PromptTuner.Example> out = new ArrayList<>();
        for (int i = 0; i < POSITIVE.size(); i++) {
            out.add(new PromptTuner.Example(POSITIVE.get(i), "positive"));
            out.add(new PromptTuner.Example(NEGATIVE.get(i), "negative"));
        }
        return out;
    }

    private static final PromptTuner.Config CONFIG = new PromptTuner.Config(24 * 40, 24, 1, 6, 7);
    private static final List<String> START = List.of("banana", "telephone", "algebra");

    @Test
    void theClientImprovesAccuracyAgainstTheLocalBlackBox() {
        EncoderClassifier model = new EncoderClassifier(encoder, LABELS);
        CountingModel counted = new CountingModel(model);

        PromptTuner.Result r = new PromptTuner(counted, space, CONFIG).tune(START, examples());

        assertThat(r.accuracy()).isGreaterThan(r.baseAccuracy());
        assertThat(r.apiCalls()).isEqualTo(counted.calls()).isLessThanOrEqualTo(CONFIG.apiBudget());
        assertThat(r.tokens()).allMatch(space::contains);
        // the model is deterministic: the tuned prompt scores the same when asked again
        assertThat(PromptTuner.accuracy(model, r.tokens(), examples())).isEqualTo(r.accuracy());
    }

    @Test
    void theHttpPathAnswersLikeTheModelItServesAndTunesTheSamePrompt() throws Exception {
        EncoderClassifier model = new EncoderClassifier(encoder, LABELS);
        try (ChatCompletionsServer server =
                ChatCompletionsServer.start(model, "minilm-zero-shot", 0)) {
            ChatCompletionsClient client =
                    new ChatCompletionsClient(server.baseUrl(), "minilm-zero-shot", "test-key");
            PromptTuner.Config small = new PromptTuner.Config(24 * 6, 24, 1, 6, 7);

            String viaHttp = client.complete("movie review", POSITIVE.get(0));
            PromptTuner.Result direct =
                    new PromptTuner(model, space, small).tune(START, examples());
            long before = server.requests();
            PromptTuner.Result remote =
                    new PromptTuner(client, space, small).tune(START, examples());

            assertThat(viaHttp).isEqualTo(model.complete("movie review", POSITIVE.get(0)));
            assertThat(remote).isEqualTo(direct);
            assertThat(server.requests() - before).isEqualTo(remote.apiCalls());
        }
    }

    @Test
    void theHttpClientReportsErrorsOfTheEndpoint() throws Exception {
        BlackBoxModel failing =
                (system, user) -> {
                    throw new IllegalStateException("out of quota");
                };
        try (ChatCompletionsServer server = ChatCompletionsServer.start(failing, "m", 0)) {
            ChatCompletionsClient client = new ChatCompletionsClient(server.baseUrl(), "m", null);
            HttpResponse<String> bad =
                    HttpClient.newHttpClient()
                            .send(
                                    HttpRequest.newBuilder(
                                                    URI.create(
                                                            server.baseUrl() + "/chat/completions"))
                                            .POST(HttpRequest.BodyPublishers.ofString("{not json"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString());

            assertThatThrownBy(() -> client.complete("p", "t"))
                    .isInstanceOf(ChatCompletionsClient.BlackBoxException.class)
                    .hasMessageContaining("HTTP 500")
                    .hasMessageContaining("out of quota");
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(bad.body()).contains("not JSON");
        }
    }
}
