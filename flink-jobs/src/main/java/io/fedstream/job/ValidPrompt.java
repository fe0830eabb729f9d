package io.fedstream.job;

/**
 * A prompt update that passed stateless validation ({@link
 * io.fedstream.job.prompt.PromptUpdateValidator}).
 */
public class ValidPrompt {
    public String federationId;
    public String updateId;
    public String siteId;
    public long baseVersion;
    public String[] tokens;
    public double accuracy;
    public long apiCalls;
    public long numExamples;
    public int sourcePartition;
    public long sourceOffset;

    public ValidPrompt() {}

    @Override
    public String toString() {
        return "ValidPrompt{" + federationId + "/" + updateId + " base " + baseVersion + "}";
    }
}
