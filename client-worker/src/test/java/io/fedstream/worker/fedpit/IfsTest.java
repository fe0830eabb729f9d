package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.decoder.LoraCausalLm;
import java.util.List;
import org.junit.jupiter.api.Test;

/** IFS under a real (tiny, pretrained) decoder. */
class IfsTest {

    @Test
    void aRelevantAnswerScoresBelowAnUnrelatedOne() {
        try (LoraCausalLm lm = TinyMedical.model();
                HuggingFaceTokenizer tok = TinyMedical.tokenizer()) {
            DecoderScorer scorer = new DecoderScorer(lm, tok, 64);
            String[][] f = TinyMedical.FACTS;
            for (int i = 0; i < 4; i++) {
                String q = "How is " + f[i][0] + " treated ?";
                InstructionExample relevant =
                        new InstructionExample(
                                "r",
                                q,
                                "",
                                f[i][0] + " is treated with " + f[i][3] + " .",
                                null,
                                null);
                String[] o = f[(i + 5) % f.length];
                InstructionExample unrelated =
                        new InstructionExample(
                                "u", q, "", o[0] + " is treated with " + o[3] + " .", null, null);

                List<InstructionFollowing.Scored<InstructionExample>> scored =
                        SelfInstruct.score(List.of(unrelated, relevant), scorer);

                assertThat(scored.get(1).ifs()).isLessThan(scored.get(0).ifs());
                assertThat(scored.get(1).ifs()).isLessThan(1.0);
                assertThat(InstructionFollowing.best(scored, 1).get(0).item().id()).isEqualTo("r");
            }
        }
    }
}
