package io.fedstream.job.adapter;

/** A dead letter on its way to one site's feedback topic: topic, key and encoded record. */
public class FeedbackRecord {
    public String topic;
    public String key;
    public byte[] value;

    public FeedbackRecord() {}

    public FeedbackRecord(String topic, String key, byte[] value) {
        this.topic = topic;
        this.key = key;
        this.value = value;
    }
}
