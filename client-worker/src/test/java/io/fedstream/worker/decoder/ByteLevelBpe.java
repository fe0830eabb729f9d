package io.fedstream.worker.decoder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny GPT-2-style byte-level BPE tokenizer.json (the kind Llama 3, Qwen2 and SmolLM2 ship): the
 * 256 byte symbols of GPT-2's {@code bytes_to_unicode} as ids 0..255, a few merges, then the chat
 * special tokens as added tokens.
 */
public final class ByteLevelBpe {
    static final List<String> MERGES =
            List.of(
                    "i s", "Ġ is", "f l", "fl u", "Ġ flu", "v i", "vi r", "vir u", "viru s",
                    "Ġ virus");
    static final List<String> SPECIAL =
            List.of(
                    "<|endoftext|>",
                    "<|im_start|>",
                    "<|im_end|>",
                    "<|begin_of_text|>",
                    "<|start_header_id|>",
                    "<|end_header_id|>",
                    "<|eot_id|>");

    private ByteLevelBpe() {}

    /** GPT-2's bytes_to_unicode: the printable symbol standing for each byte. */
    static String[] byteSymbols() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bs.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bs.add(b);
        }
        String[] out = new String[256];
        for (int b : bs) {
            out[b] = new String(Character.toChars(b));
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (out[b] == null) {
                out[b] = new String(Character.toChars(256 + n++));
            }
        }
        return out;
    }

    /** The vocabulary: byte symbols, merge results, then the special tokens. */
    static Map<String, Integer> vocab() {
        Map<String, Integer> v = new LinkedHashMap<>();
        String[] symbols = byteSymbols();
        for (int b = 0; b < 256; b++) {
            v.put(symbols[b], b);
        }
        for (String m : MERGES) {
            v.put(m.replace(" ", ""), v.size());
        }
        for (String s : SPECIAL) {
            v.put(s, v.size());
        }
        return v;
    }

    static int id(String token) {
        return vocab().get(token);
    }

    /**
     * The tokenizer.json; with {@code bosPostProcessor} the post-processor adds {@code
     * <|begin_of_text|>} as Llama 3's does, else it is ByteLevel's (Qwen2: nothing added).
     */
    static String json(boolean bosPostProcessor) {
        Map<String, Integer> vocab = vocab();
        ObjectNode root = WordLevelTokenizer.jsonRoot(SPECIAL, vocab::get);
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        if (bosPostProcessor) {
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "TemplateProcessing");
            bosThenA(post.putArray("single"));
            bosThenA(post.putArray("pair"))
                    .addObject()
                    .putObject("Sequence")
                    .put("id", "B")
                    .put("type_id", 1);
            ObjectNode st = post.putObject("special_tokens").putObject("<|begin_of_text|>");
            st.put("id", "<|begin_of_text|>");
            st.putArray("ids").add(vocab.get("<|begin_of_text|>"));
            st.putArray("tokens").add("<|begin_of_text|>");
        } else {
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "ByteLevel");
            post.put("add_prefix_space", false);
            post.put("trim_offsets", false);
            post.put("use_regex", false);
        }
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", true);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(
                (k, id) -> {
                    if (!SPECIAL.contains(k)) {
                        v.put(k, id);
                    }
                });
        ArrayNode merges = model.putArray("merges");
        MERGES.forEach(merges::add);
        return root.toString();
    }

    /** Qwen2.5's chat template (the default system message when none is given). */
    static final String QWEN25_TEMPLATE =
            "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] =="
                    + " 'system' %}\n        {{- messages[0]['content'] }}\n    {%- else %}\n      "
                    + "  {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.'"
                    + " }}\n    {%- endif %}\n{%- else %}\n    {%- if messages[0]['role'] =="
                    + " 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] +"
                    + " '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou"
                    + " are Qwen, created by Alibaba Cloud. You are a helpful"
                    + " assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n{%- for message"
                    + " in messages %}\n        {{- '<|im_start|>' + message.role + '\\n' +"
                    + " message.content + '<|im_end|>' + '\\n' }}\n{%- endfor %}\n{%- if"
                    + " add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif"
                    + " %}\n";

    /** Llama 3's chat template. */
    static final String LLAMA3_TEMPLATE =
            "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content ="
                    + " '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+"
                    + " message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set"
                    + " content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if"
                    + " add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n'"
                    + " }}{% endif %}";

    /** A tokenizer_config.json holding {@code template}. */
    static String tokenizerConfig(String template) {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("chat_template", template);
        root.put("tokenizer_class", "PreTrainedTokenizerFast");
        return root.toString();
    }

    // a TemplateProcessing template's start: the BOS token, then sequence A
    private static ArrayNode bosThenA(ArrayNode template) {
        template.addObject()
                .putObject("SpecialToken")
                .put("id", "<|begin_of_text|>")
                .put("type_id", 0);
        template.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        return template;
    }
}
