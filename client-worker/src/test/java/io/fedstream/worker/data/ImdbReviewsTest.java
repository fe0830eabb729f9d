package io.fedstream.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ImdbReviewsTest {

    private static ByteArrayInputStream json(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsTextsAndLabelsAndDropsHtmlLineBreaks() throws IOException {
        var reviews =
                ImdbReviews.read(
                        json(
                                "[{\"t\":\"Great.<br /><br />Loved it\",\"s\":1},"
                                        + "{\"t\":\"Dull  film\",\"s\":0}]"));

        assertThat(reviews)
                .containsExactly(
                        new ImdbReviews.Review("Great. Loved it", 1),
                        new ImdbReviews.Review("Dull film", 0));
    }

    @Test
    void rejectsRecordsWithoutABinaryLabel() {
        assertThatThrownBy(() -> ImdbReviews.read(json("[{\"t\":\"x\",\"s\":3}]")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("record 0");
        assertThatThrownBy(() -> ImdbReviews.read(json("{\"t\":\"x\"}")))
                .isInstanceOf(IOException.class);
    }
}
