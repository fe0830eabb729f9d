package io.fedstream.worker.decoder;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.worker.weights.HfFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The chat layout of a checkpoint's family, recognised from the {@code chat_template} of its {@code
 * tokenizer_config.json} (or {@code chat_template.jinja}) and applied in Java: there is no Jinja
 * engine here, so only the two layouts below are known, and a template that is neither is refused
 * by name where a chat layout is asked for.
 *
 * <ul>
 *   <li>{@link Kind#LLAMA3}: {@code <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n}
 *       prompt {@code <|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n}, the answer
 *       ending in {@code <|eot_id|>}. (The system block with the knowledge-cutoff date that Llama
 *       3.1+ templates add by default is not written.)
 *   <li>{@link Kind#CHATML} (Qwen2, Qwen2.5, SmolLM2): the template's default system message if it
 *       has a literal one ({@code <|im_start|>system\n...<|im_end|>\n}), then {@code
 *       <|im_start|>user\n} prompt {@code <|im_end|>\n<|im_start|>assistant\n}, the answer ending
 *       in {@code <|im_end|>}.
 * </ul>
 *
 * Text between special tokens is encoded piece by piece, which is what a Hugging Face tokenizer
 * does with added tokens in the text (it splits on them first), and the special tokens' ids come
 * from {@code tokenizer.json}'s {@code added_tokens}. Only the answer (with its end-of-turn token)
 * is scored in training.
 *
 * @param kind the layout
 * @param special ids of the layout's special tokens by content
 * @param system ChatML: the default system message, null for none
 * @param bos Llama 3: the BOS id written first, -1 for none
 */
public record ChatTemplate(Kind kind, Map<String, Integer> special, String system, int bos) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CHATML_SYSTEM =
            Pattern.compile("<\\|im_start\\|>system\\\\n([^'\"{}<]+)<\\|im_end\\|>");

    /** The known layouts. */
    public enum Kind {
        LLAMA3(List.of("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"), "<|eot_id|>"),
        CHATML(List.of("<|im_start|>", "<|im_end|>"), "<|im_end|>");

        private final List<String> tokens;
        private final String endOfTurn;

        Kind(List<String> tokens, String endOfTurn) {
            this.tokens = tokens;
            this.endOfTurn = endOfTurn;
        }
    }

    public ChatTemplate {
        special = Map.copyOf(special);
        for (String t : kind.tokens) {
            if (!special.containsKey(t)) {
                throw new IllegalArgumentException(
                        "tokenizer.json has no added token "
                                + t
                                + " for the "
                                + kind
                                + " template");
            }
        }
    }

    /** The raw chat template text of a checkpoint directory, or null if it has none. */
    static String templateText(Path directory) throws IOException {
        Path jinja = directory.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            return Files.readString(jinja);
        }
        Path config = directory.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(config)) {
            return null;
        }
        JsonNode t = JSON.readTree(config.toFile()).get("chat_template");
        if (t == null || t.isNull()) {
            return null;
        }
        if (t.isArray()) { // named templates: take "default"
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return named.path("template").asText();
                }
            }
            return null;
        }
        return t.asText();
    }

    /**
     * The template of {@code directory}, or null if it has no chat template.
     *
     * @throws IllegalArgumentException if it has one this class does not know, or lacks the special
     *     tokens in {@code tokenizer.json}
     */
    public static ChatTemplate of(Path directory, DecoderConfig config) throws IOException {
        String text = templateText(directory);
        if (text == null) {
            return null;
        }
        Kind kind;
        if (text.contains("<|start_header_id|>")) {
            kind = Kind.LLAMA3;
        } else if (text.contains("<|im_start|>")) {
            kind = Kind.CHATML;
        } else {
            throw new IllegalArgumentException(
                    directory.resolve("tokenizer_config.json")
                            + ": chat_template is neither Llama 3's nor ChatML, the layouts"
                            + " FedStream applies");
        }
        Map<String, Integer> ids = addedTokens(directory.resolve(HfFiles.TOKENIZER));
        String system = null;
        if (kind == Kind.CHATML) {
            Matcher m = CHATML_SYSTEM.matcher(text);
            if (m.find()) {
                system = m.group(1).replace("\\n", "\n");
            }
        }
        return new ChatTemplate(kind, ids, system, kind == Kind.LLAMA3 ? config.bosTokenId() : -1);
    }

    /** The {@code added_tokens} of a tokenizer.json, by content. */
    static Map<String, Integer> addedTokens(Path tokenizerJson) throws IOException {
        DecoderCheckpoint.requireTokenizer(tokenizerJson.getParent());
        Map<String, Integer> out = new HashMap<>();
        for (JsonNode t : JSON.readTree(tokenizerJson.toFile()).path("added_tokens")) {
            out.put(t.path("content").asText(), t.path("id").asInt());
        }
        return out;
    }

    /** The id ending an assistant turn ({@code <|eot_id|>}, {@code <|im_end|>}). */
    public int endOfTurn() {
        return special.get(kind.endOfTurn);
    }

    /**
     * The tokens of a one-turn conversation up to where the assistant's answer begins (the
     * generation prompt).
     */
    public long[] prompt(HuggingFaceTokenizer tokenizer, String user) {
        List<long[]> parts = new ArrayList<>();
        if (kind == Kind.LLAMA3) {
            if (bos >= 0) {
                parts.add(new long[] {bos});
            }
            header(parts, tokenizer, "user");
            parts.add(ids(tokenizer, "\n\n" + user.strip()));
            parts.add(token("<|eot_id|>"));
            header(parts, tokenizer, "assistant");
            parts.add(ids(tokenizer, "\n\n"));
        } else {
            if (system != null) {
                parts.add(token("<|im_start|>"));
                parts.add(ids(tokenizer, "system\n" + system));
                parts.add(token("<|im_end|>"));
                parts.add(ids(tokenizer, "\n"));
            }
            parts.add(token("<|im_start|>"));
            parts.add(ids(tokenizer, "user\n" + user));
            parts.add(token("<|im_end|>"));
            parts.add(ids(tokenizer, "\n"));
            parts.add(token("<|im_start|>"));
            parts.add(ids(tokenizer, "assistant\n"));
        }
        return concat(parts);
    }

    /** The answer's tokens as the assistant turn holds them, ending in the end-of-turn token. */
    public long[] answer(HuggingFaceTokenizer tokenizer, String answer) {
        String text = kind == Kind.LLAMA3 ? answer.strip() : answer;
        return concat(List.of(ids(tokenizer, text), new long[] {endOfTurn()}));
    }

    private void header(List<long[]> parts, HuggingFaceTokenizer tokenizer, String role) {
        parts.add(token("<|start_header_id|>"));
        parts.add(ids(tokenizer, role));
        parts.add(token("<|end_header_id|>"));
    }

    private long[] token(String content) {
        return new long[] {special.get(content)};
    }

    private static long[] ids(HuggingFaceTokenizer tokenizer, String text) {
        return text.isEmpty() ? new long[0] : tokenizer.encode(text).getIds();
    }

    private static long[] concat(List<long[]> parts) {
        long[] out = new long[parts.stream().mapToInt(p -> p.length).sum()];
        int at = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /**
     * An instruction example in this layout, cut to {@code maxTokens} as {@link CausalBatch#encode}
     * cuts: {@code [prompt ids, answer ids]}.
     */
    public long[][] encode(
            HuggingFaceTokenizer tokenizer, String user, String answer, int maxTokens) {
        return CausalBatch.fit(prompt(tokenizer, user), answer(tokenizer, answer), maxTokens);
    }

    @Override
    public String toString() {
        return kind + (system != null ? " (system: " + system.strip() + ")" : "");
    }
}
