package io.fedstream.job.prompt;

import io.fedstream.job.KafkaNewestRecordLookup;
import io.fedstream.job.PromptVersionLookup;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.GlobalPrompt;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the global-prompts topic (read_committed) from the beginning to its current end and returns
 * the newest prompt version of a federation. Only called when a federation has no state in the job,
 * i.e. once per federation on a fresh start.
 */
public final class KafkaPromptVersionLookup extends KafkaNewestRecordLookup
        implements PromptVersionLookup {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(KafkaPromptVersionLookup.class);

    public KafkaPromptVersionLookup(Properties consumerProperties, String topic) {
        super(consumerProperties, topic);
    }

    @Override
    public Optional<GlobalPrompt> latest(String federationId) {
        Optional<GlobalPrompt> newest =
                newest(
                        federationId,
                        value -> List.of(AvroCodec.GLOBAL_PROMPT.decode(value)),
                        GlobalPrompt::getVersion,
                        g -> {});
        newest.ifPresent(
                g ->
                        LOG.info(
                                "prompt federation {} continues from published version {}",
                                federationId,
                                g.getVersion()));
        return newest;
    }
}
