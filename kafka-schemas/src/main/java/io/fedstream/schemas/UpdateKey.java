package io.fedstream.schemas;

/**
 * The job's identity of an update: the pair (site id, update id). Update ids are chosen by sites
 * (workers use {@code <site>/v<base>}), so an id alone is no identity: a registered site could
 * otherwise send, signed with its own key, a manifest under another site's update id first and have
 * the genuine one rejected as a duplicate. Two sites may use the same update id without affecting
 * each other; a duplicate is the same site sending the same id again.
 *
 * <p>The key is {@code updateId + NUL + siteId}: validation refuses ids containing NUL, so the pair
 * is recovered unambiguously, and for distinct update ids keys sort as the ids do (the canonical
 * order the robust rules sum in stays the update-id order). Records the job writes keep showing the
 * update id and site id separately; the key lives only in the job's state and in its internal
 * messages.
 *
 * <p>A null site gives the bare update id: keyed state written by job versions before this change
 * holds bare ids (no NUL), which the operators still honour while such state lasts.
 */
public final class UpdateKey {
    public static final char SEPARATOR = '\u0000';

    private UpdateKey() {}

    public static String of(String siteId, String updateId) {
        return siteId == null ? updateId : updateId + SEPARATOR + siteId;
    }

    /** Whether a key was written by an earlier job version (a bare update id). */
    public static boolean isLegacy(String key) {
        return key.indexOf(SEPARATOR) < 0;
    }

    /** The update id of a key (a legacy key is the update id). */
    public static String updateId(String key) {
        int i = key.indexOf(SEPARATOR);
        return i < 0 ? key : key.substring(0, i);
    }

    /** For log and error messages: {@code site:update}. */
    public static String describe(String key) {
        int i = key.indexOf(SEPARATOR);
        return i < 0 ? key : key.substring(i + 1) + ":" + key.substring(0, i);
    }
}
