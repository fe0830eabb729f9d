package io.fedstream.job.adapter;

import io.fedstream.job.KafkaNewestRecordLookup;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.avro.GlobalModel;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the global-models topic (read_committed) from the beginning to its current end and returns
 * the newest complete version of a federation, reassembled from its chunks and verified ({@link
 * GlobalModelAssembler}). Only called when a federation has no state in the job, i.e. once per
 * federation on a fresh start.
 */
public final class KafkaLatestVersionLookup extends KafkaNewestRecordLookup
        implements LatestVersionLookup {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(KafkaLatestVersionLookup.class);

    public KafkaLatestVersionLookup(Properties consumerProperties, String topic) {
        super(consumerProperties, topic);
    }

    @Override
    public Optional<GlobalModel> latest(String federationId) {
        GlobalModelAssembler assembler = new GlobalModelAssembler();
        Optional<GlobalModel> newest =
                newest(
                        federationId,
                        assembler::accept,
                        GlobalModel::getVersion,
                        g -> assembler.forgetBelow(federationId, g.getVersion()));
        assembler.problems().forEach(why -> LOG.warn("ignoring a published version: {}", why));
        newest.ifPresent(
                g ->
                        LOG.info(
                                "federation {} continues from published version {}",
                                federationId,
                                g.getVersion()));
        return newest;
    }
}
