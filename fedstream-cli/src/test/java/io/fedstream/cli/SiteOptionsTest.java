package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.sites.SiteTrainers;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class SiteOptionsTest {

    @Command(name = "holder")
    static final class Holder {
        @Mixin SiteOptions site = new SiteOptions();
    }

    private static SiteOptions parse(String... args) {
        Holder h = new Holder();
        new CommandLine(h).parseArgs(args);
        return h.site;
    }

    @Test
    void theCommandLinesDefaultsAreTheFactorysInitialValues() throws Exception {
        SiteOptions parsed = parse();
        SiteTrainers initial = new SiteTrainers();
        int options = 0;
        for (Field f : SiteTrainers.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) || !Modifier.isPublic(f.getModifiers())) {
                continue;
            }
            options++;
            assertThat(f.get(parsed)).as(f.getName()).isEqualTo(f.get(initial));
        }
        assertThat(options).isEqualTo(25);
    }

    @Test
    void everyOptionSetsItsField() {
        SiteOptions o =
                parse(
                        "--model",
                        "minilm",
                        "--data",
                        "x.jsonl",
                        "--lora-rank",
                        "4",
                        "--lora-freeze-a",
                        "--lr",
                        "0.01",
                        "--train-cap",
                        "7");
        assertThat(o.model).isEqualTo(SiteTrainers.MINILM);
        assertThat(o.data).isEqualTo(Path.of("x.jsonl"));
        assertThat(o.loraRank).isEqualTo(4);
        assertThat(o.freezeA).isTrue();
        assertThat(o.learningRate()).isEqualTo(0.01);
        assertThat(o.trainCap).isEqualTo(7);
        assertThat(o.kind()).isEqualTo(SiteTrainers.MINILM);
        assertThat(o.lora().rank()).isEqualTo(4);
    }
}
