package io.fedstream.worker.decoder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A word-level Hugging Face {@code tokenizer.json} built from a corpus: lower-casing normaliser,
 * the {@code Whitespace} pre-tokenizer (runs of word characters, or of other non-space characters)
 * and a {@code WordLevel} model over the most frequent words; anything else is {@code <unk>}.
 * Decoding joins tokens with spaces. For small models trained from scratch here (no pretrained
 * tokenizer of a causal LM is available offline), read by DJL's {@code HuggingFaceTokenizer} like
 * any other.
 */
public final class WordLevelTokenizer {
    public static final String PAD = "<pad>";
    public static final String UNK = "<unk>";
    public static final String BOS = "<s>";
    public static final String EOS = "</s>";

    /** The special tokens, with ids 0 to 3. */
    public static final List<String> SPECIAL = List.of(PAD, UNK, BOS, EOS);

    private static final Pattern WORD = Pattern.compile("\\w+|[^\\w\\s]+");

    private WordLevelTokenizer() {}

    /** The pre-tokens of {@code text} as the tokenizer sees them (lower-cased). */
    public static List<String> pretokens(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    /**
     * The special tokens followed by the {@code size − 4} most frequent pre-tokens of {@code texts}
     * (ties by first appearance).
     */
    public static List<String> vocabulary(Iterable<String> texts, int size) {
        Map<String, Integer> counts = new HashMap<>();
        Map<String, Integer> first = new HashMap<>();
        for (String t : texts) {
            for (String w : pretokens(t)) {
                counts.merge(w, 1, Integer::sum);
                first.putIfAbsent(w, first.size());
            }
        }
        List<String> words = new ArrayList<>(counts.keySet());
        words.removeAll(SPECIAL);
        words.sort(
                (a, b) -> {
                    int c = Integer.compare(counts.get(b), counts.get(a));
                    return c != 0 ? c : Integer.compare(first.get(a), first.get(b));
                });
        List<String> vocab = new ArrayList<>(SPECIAL);
        vocab.addAll(words.subList(0, Math.min(words.size(), Math.max(0, size - SPECIAL.size()))));
        return vocab;
    }

    /** The {@code tokenizer.json} text for {@code vocab} (index = id; must start with SPECIAL). */
    public static String json(List<String> vocab) {
        if (!vocab.subList(0, SPECIAL.size()).equals(SPECIAL)) {
            throw new IllegalArgumentException("the vocabulary must start with " + SPECIAL);
        }
        return json(vocab, SPECIAL, true);
    }

    /**
     * A word-level {@code tokenizer.json} ({@code Whitespace} pre-tokenizer, no post processor):
     * {@code vocab.get(i)} has id {@code i}, {@code special} are its added tokens, unknown words
     * map to {@code <unk>}; {@code lowercase} adds the lower-casing normaliser.
     */
    static String json(List<String> vocab, List<String> special, boolean lowercase) {
        ObjectNode root = jsonRoot(special, vocab::indexOf);
        if (lowercase) {
            root.putObject("normalizer").put("type", "Lowercase");
        } else {
            root.putNull("normalizer");
        }
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < vocab.size(); i++) {
            v.put(vocab.get(i), i);
        }
        model.put("unk_token", UNK);
        return root.toString();
    }

    /**
     * The start of a {@code tokenizer.json}: version 1.0, no truncation nor padding, and {@code
     * special} as its added (special) tokens with the ids {@code ids} gives them.
     */
    static ObjectNode jsonRoot(List<String> special, ToIntFunction<String> ids) {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : special) {
            ObjectNode t = added.addObject();
            t.put("id", ids.applyAsInt(s));
            t.put("content", s);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        return root;
    }
}
