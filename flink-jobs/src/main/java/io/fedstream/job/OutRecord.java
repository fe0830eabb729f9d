package io.fedstream.job;

/** An encoded record for a Kafka sink: key (may be null) and Avro single-object bytes. */
public class OutRecord {
    public String key;
    public byte[] value;

    public OutRecord() {}

    public OutRecord(String key, byte[] value) {
        this.key = key;
        this.value = value;
    }
}
