package io.fedstream.worker.fedpit;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * ROUGE-L (Lin, 2004) on word tokens: the longest common subsequence (LCS) of a candidate and a
 * reference, as precision {@code LCS / |candidate|}, recall {@code LCS / |reference|} and their
 * harmonic mean {@code F = 2PR / (P + R)} (the F1 that {@code rouge_score} and self-instruct
 * report). Tokens are the maximal runs of letters and digits, lower-cased; punctuation and
 * whitespace only separate them.
 */
public final class RougeL {

    private RougeL() {}

    /** Precision, recall and F-measure of one candidate against one reference. */
    public record Score(double precision, double recall, double f) {}

    /** Lower-cased runs of letters and digits, in order. */
    public static List<String> tokens(String text) {
        List<String> out = new ArrayList<>();
        String s = text.toLowerCase(Locale.ROOT);
        int start = -1;
        for (int i = 0; i <= s.length(); i++) {
            boolean word = i < s.length() && Character.isLetterOrDigit(s.charAt(i));
            if (word && start < 0) {
                start = i;
            } else if (!word && start >= 0) {
                out.add(s.substring(start, i));
                start = -1;
            }
        }
        return out;
    }

    /** Length of the longest common subsequence (dynamic programming, two rows). */
    public static int lcs(List<String> a, List<String> b) {
        if (a.isEmpty() || b.isEmpty()) {
            return 0;
        }
        int[] prev = new int[b.size() + 1];
        int[] cur = new int[b.size() + 1];
        for (String x : a) {
            for (int j = 1; j <= b.size(); j++) {
                cur[j] = x.equals(b.get(j - 1)) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.size()];
    }

    /** The score of token lists; 0 when either is empty. */
    public static Score score(List<String> candidate, List<String> reference) {
        int l = lcs(candidate, reference);
        if (l == 0) {
            return new Score(0, 0, 0);
        }
        double p = (double) l / candidate.size();
        double r = (double) l / reference.size();
        return new Score(p, r, 2 * p * r / (p + r));
    }

    /** The score of texts. */
    public static Score score(String candidate, String reference) {
        return score(tokens(candidate), tokens(reference));
    }

    /** The F-measure of texts. */
    public static double f(String candidate, String reference) {
        return score(candidate, reference).f();
    }

    /** The highest F-measure of {@code candidate} against any of {@code references} (0 if none). */
    public static double maxF(String candidate, Collection<String> references) {
        List<String> c = tokens(candidate);
        double best = 0;
        for (String r : references) {
            best = Math.max(best, score(c, tokens(r)).f());
        }
        return best;
    }
}
