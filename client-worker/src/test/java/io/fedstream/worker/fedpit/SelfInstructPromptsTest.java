package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.data.InstructionExample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SelfInstructPromptsTest {

    static List<InstructionExample> local(int n) {
        List<InstructionExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(
                    new InstructionExample(
                            "e" + i,
                            "question " + i + " ?",
                            "",
                            "answer " + i + " one two three four five six",
                            null,
                            "site"));
        }
        return out;
    }

    @Test
    void instructionPromptShowsEightDistinctLocalInstructionsAndEndsOpen() {
        SelfInstructPrompts p = new SelfInstructPrompts(SelfInstructPrompts.Config.defaults());

        String prompt = p.instructionPrompt(local(20), new SplittableRandom(1));

        assertThat(prompt.split("### Instruction:", -1)).hasSize(10); // 8 demos + the open one
        assertThat(prompt).endsWith("### Instruction:\n").doesNotContain("answer");
        long distinct =
                local(20).stream().filter(e -> prompt.contains(e.instruction() + "\n")).count();
        assertThat(distinct).isEqualTo(8);
    }

    @Test
    void fewerLocalExamplesThanDemonstrationsUsesAllOfThem() {
        SelfInstructPrompts p = new SelfInstructPrompts(SelfInstructPrompts.Config.defaults());

        String prompt = p.instructionPrompt(local(5), new SplittableRandom(1));

        assertThat(prompt.split("### Instruction:", -1)).hasSize(7);
    }

    @Test
    void answerPromptHasDemonstrationsWithCutResponsesThenTheNewInstruction() {
        SelfInstructPrompts p = new SelfInstructPrompts(new SelfInstructPrompts.Config(8, 2, 3));

        String prompt = p.answerPrompt(local(10), "What is new ?", new SplittableRandom(2));

        assertThat(prompt.split("### Response:", -1)).hasSize(4);
        assertThat(prompt).endsWith("### Instruction:\nWhat is new ?\n\n### Response:\n");
        assertThat(prompt).doesNotContain("two three"); // cut to 3 words: "answer i one"
        assertThat(prompt).containsPattern("### Response:\nanswer \\d one\n");
    }

    @Test
    void samplingIsSeededAndWithoutReplacement() {
        List<InstructionExample> a =
                SelfInstructPrompts.sample(local(30), 8, new SplittableRandom(7));
        List<InstructionExample> b =
                SelfInstructPrompts.sample(local(30), 8, new SplittableRandom(7));

        assertThat(a).isEqualTo(b).doesNotHaveDuplicates().hasSize(8);
    }

    @Test
    void completionsAreCutAtTheNextSection() {
        assertThat(SelfInstructPrompts.parseInstruction(" What is gout ?\nmore\n### Response:"))
                .isEqualTo("What is gout ?");
        assertThat(SelfInstructPrompts.parseAnswer(" Gout is a kind of arthritis .\n\n### Instr"))
                .isEqualTo("Gout is a kind of arthritis .");
        assertThat(SelfInstructPrompts.parseAnswer("no stop here")).isEqualTo("no stop here");
    }
}
