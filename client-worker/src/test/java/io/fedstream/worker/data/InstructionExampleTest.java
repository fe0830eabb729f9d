package io.fedstream.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class InstructionExampleTest {

    @Test
    void promptFollowsTheAlpacaTemplate() {
        InstructionExample e =
                new InstructionExample("1", "Summarise.", "Some text.", "A summary.", null, null);
        assertThat(e.prompt())
                .isEqualTo(
                        "### Instruction:\nSummarise.\n\n### Input:\nSome text.\n\n### Response:\n");
        assertThat(e.text()).isEqualTo(e.prompt() + "A summary.");
    }

    @Test
    void promptLeavesOutAnEmptyInput() {
        InstructionExample e = new InstructionExample("1", "Say hi.", null, "Hi.", null, null);
        assertThat(e.input()).isEmpty();
        assertThat(e.prompt()).isEqualTo("### Instruction:\nSay hi.\n\n### Response:\n");
    }

    @Test
    void labelReadsFieldsAndAliases() {
        InstructionExample e = new InstructionExample("7", "q", "ctx", "a", "treatment", "GHR");
        assertThat(e.label("category")).isEqualTo("treatment");
        assertThat(e.label("qtype")).isEqualTo("treatment");
        assertThat(e.label("Source")).isEqualTo("GHR");
        assertThat(e.label("context")).isEqualTo("ctx");
        assertThat(e.label("response")).isEqualTo("a");
        assertThat(e.label("question")).isEqualTo("q");
        assertThat(e.label("id")).isEqualTo("7");
        assertThat(new InstructionExample("8", "q", "", "a", null, null).label("source")).isNull();
        assertThatThrownBy(() -> e.label("focus"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("focus");
    }

    @Test
    void requiredFieldsAreChecked() {
        assertThatThrownBy(() -> new InstructionExample("1", null, "", "a", null, null))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new InstructionExample("1", "q", "", null, null, null))
                .isInstanceOf(NullPointerException.class);
    }
}
