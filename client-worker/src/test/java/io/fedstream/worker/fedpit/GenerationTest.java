package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.decoder.GreedyDecoding;
import io.fedstream.worker.decoder.LoraCausalLm;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The pluggable generator: the site's decoder through DJL, and the chat-completions client. */
class GenerationTest {
    static LoraCausalLm lm;
    static HuggingFaceTokenizer tokenizer;
    static DecoderGenerator decoder;
    static final String PROMPT = "### Instruction:\nHow is gout treated ?\n\n### Response:\n";

    @BeforeAll
    static void load() {
        lm = TinyMedical.model();
        tokenizer = TinyMedical.tokenizer();
        decoder = new DecoderGenerator(lm, tokenizer);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        lm.close();
    }

    private static long[] promptIds() {
        long[] ids = tokenizer.encode(PROMPT).getIds();
        long[] out = new long[ids.length + 1];
        out[0] = lm.config().bosTokenId();
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    @Test
    void greedyDecodingWithoutAStopIsTheModelsGenerate() {
        long[] prompt = promptIds();

        long[] ours = GreedyDecoding.generate(lm, prompt, 10, g -> false);

        assertThat(ours).containsExactly(lm.generate(prompt, 10)).isNotEmpty();
    }

    @Test
    void thePretrainedDecoderAnswersFromWhatItLearned() {
        String answer = decoder.complete(PROMPT, 12, List.of());

        assertThat(answer).contains("gout").contains("treated");
    }

    @Test
    void decodingStopsBeforeTheFirstStopSequence() {
        String full = decoder.complete(PROMPT, 12, List.of());
        String stopWord = RougeL.tokens(full).get(2);

        String cut = decoder.complete(PROMPT, 12, List.of(stopWord));

        assertThat(cut).isEqualTo(full.substring(0, full.indexOf(stopWord)));
    }

    @Test
    void theChatCompletionsClientGetsWhatTheServersDecoderWrites() throws Exception {
        try (LoopbackChatServer server = new LoopbackChatServer(decoder, "k3y");
                ChatCompletionsGenerator http = client(server, "tiny-medical", "k3y", null)) {
            SelfInstructPrompts prompts =
                    new SelfInstructPrompts(SelfInstructPrompts.Config.defaults());
            String p1 = prompts.instructionPrompt(TinyMedical.examples(), new SplittableRandom(1));

            String viaHttp = http.complete(p1, 16, SelfInstructPrompts.STOPS);
            String direct = decoder.complete(p1, 16, SelfInstructPrompts.STOPS);
            String answerHttp = http.complete(PROMPT, 12, List.of());

            assertThat(viaHttp).isEqualTo(direct);
            assertThat(answerHttp).isEqualTo(decoder.complete(PROMPT, 12, List.of()));
            assertThat(server.requests.get(0).path("temperature").asDouble()).isZero();
            assertThat(server.requests.get(0).path("max_tokens").asInt()).isEqualTo(16);
            assertThat(server.requests.get(0).path("model").asText()).isEqualTo("tiny-medical");
            assertThat(server.requests.get(0).path("stop").get(0).asText()).isEqualTo("###");
        }
    }

    @Test
    void serverErrorsAndMalformedRepliesThrow() throws Exception {
        try (LoopbackChatServer server = new LoopbackChatServer(decoder, "right");
                ChatCompletionsGenerator wrongKey = client(server, "m", "wrong", "be brief")) {
            assertThatThrownBy(() -> wrongKey.complete(PROMPT, 4, List.of()))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("HTTP 401");
        }
        assertThatThrownBy(() -> ChatCompletionsGenerator.content("{\"choices\":[]}"))
                .isInstanceOf(UncheckedIOException.class);
        assertThat(
                        ChatCompletionsGenerator.content(
                                "{\"choices\":[{\"message\":{\"content\":\"hi\"}}]}"))
                .isEqualTo("hi");
    }

    @Test
    void aSelfInstructRoundRunsThroughTheHttpGenerator() throws Exception {
        try (LoopbackChatServer server = new LoopbackChatServer(decoder, null);
                ChatCompletionsGenerator http = client(server, "m", null, null)) {
            SelfInstruct si = new SelfInstruct(SelfInstruct.Config.defaults().withCandidates(3, 2));

            SelfInstruct.Round round =
                    si.generate(
                            TinyMedical.examples().subList(0, 9),
                            http,
                            new DecoderScorer(lm, tokenizer, 64),
                            new SplittableRandom(4),
                            "s");

            assertThat(round.generated()).isEqualTo(3);
            int filtered = round.filtered().values().stream().mapToInt(Integer::intValue).sum();
            assertThat(round.scored() + filtered).isEqualTo(3);
            assertThat(server.requests).hasSizeBetween(3, 6);
        }
    }

    // a chat-completions client of the loopback server, with a 30 s timeout
    private static ChatCompletionsGenerator client(
            LoopbackChatServer server, String model, String apiKey, String system) {
        return new ChatCompletionsGenerator(
                new ChatCompletionsGenerator.Config(
                        server.baseUrl(), model, apiKey, system, Duration.ofSeconds(30)));
    }
}
