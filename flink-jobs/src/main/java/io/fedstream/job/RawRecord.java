package io.fedstream.job;

/**
 * A Kafka record exactly as it arrived: bytes and coordinates, nothing decoded yet, so that a
 * record that cannot be decoded still reaches validation and the dead-letter topic.
 */
public class RawRecord {
    public String topic;
    public int partition;
    public long offset;
    public long timestamp;
    public byte[] key;
    public byte[] value;

    public RawRecord() {}

    public RawRecord(
            String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.key = key;
        this.value = value;
    }

    @Override
    public String toString() {
        return topic + "-" + partition + "@" + offset;
    }
}
