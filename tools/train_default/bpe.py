"""GPT-2-style byte-level BPE, trained from scratch, written as an HF tokenizer.json.

usage: python3 bpe.py TRAIN_TXT OUT_DIR [--vocab 1024]
Writes OUT_DIR/{tokenizer.json, tokenizer_config.json, special_tokens_map.json}.
id 0 = <|endoftext|> (BOS and EOS), ids 1..256 = the 256 byte symbols in GPT-2's
bytes_to_unicode order, then one id per merge result in merge order.
Merge choice: highest pair count over the pre-tokenized words; ties -> the
lexicographically smallest (left, right) pair of byte-level strings.
"""
import argparse
import collections
import json
import os
import unicodedata

EOT = "<|endoftext|>"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def _is_l(c):
    return unicodedata.category(c)[0] == "L"


def _is_n(c):
    return unicodedata.category(c)[0] == "N"


def _is_s(c):
    return c.isspace()


def pretokenize(text):
    """GPT-2 regex:  's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    out = []
    i, n = 0, len(text)
    other = lambda c: not (_is_s(c) or _is_l(c) or _is_n(c))
    while i < n:
        c = text[i]
        if c == "'":
            m = None
            for s in ("s", "t", "re", "ve", "m", "ll", "d"):
                if text.startswith(s, i + 1):
                    m = s
                    break
            if m is not None:
                out.append(text[i:i + 1 + len(m)])
                i += 1 + len(m)
                continue
        j = i + 1 if (c == " " and i + 1 < n) else i
        matched = False
        for cls in (_is_l, _is_n, other):
            if j < n and cls(text[j]):
                k = j
                while k < n and cls(text[k]):
                    k += 1
                out.append(text[i:k])
                i = k
                matched = True
                break
        if matched:
            continue
        if _is_s(c):
            k = i
            while k < n and _is_s(text[k]):
                k += 1
            if k == n:
                out.append(text[i:k]); i = k
            elif k - i >= 2:            # \s+(?!\S): leave the last space for the next word
                out.append(text[i:k - 1]); i = k - 1
            else:                        # \s+
                out.append(text[i:k]); i = k
            continue
        # a lone char that is none of the above cannot happen (space followed by
        # nothing matched is whitespace); keep it as its own piece for safety
        out.append(c)
        i += 1
    return out


def train(text, vocab_size):
    b2u = bytes_to_unicode()
    counts = collections.Counter(pretokenize(text))
    words = []   # [symbols list, count]
    for w, cnt in counts.items():
        words.append([[b2u[b] for b in w.encode("utf-8")], cnt])
    vocab = [EOT] + list(b2u.values())
    vocab_set = set(vocab)
    merges = []
    pair_cnt = collections.Counter()
    where = collections.defaultdict(set)
    for wi, (sy, cnt) in enumerate(words):
        for a, b in zip(sy, sy[1:]):
            pair_cnt[(a, b)] += cnt
            where[(a, b)].add(wi)
    while len(vocab) < vocab_size:
        best = None
        bc = 0
        for p, c in pair_cnt.items():
            if c > bc or (c == bc and c > 0 and p < best):
                best, bc = p, c
        if best is None or bc <= 0:
            break
        a, b = best
        new = a + b
        merges.append(f"{a} {b}")
        if new not in vocab_set:
            vocab.append(new)
            vocab_set.add(new)
        for wi in list(where[best]):
            sy, cnt = words[wi]
            for x, y in zip(sy, sy[1:]):
                pair_cnt[(x, y)] -= cnt
            ns = []
            k = 0
            while k < len(sy):
                if k + 1 < len(sy) and sy[k] == a and sy[k + 1] == b:
                    ns.append(new); k += 2
                else:
                    ns.append(sy[k]); k += 1
            words[wi][0] = ns
            for x, y in zip(ns, ns[1:]):
                pair_cnt[(x, y)] += cnt
                where[(x, y)].add(wi)
        del pair_cnt[best]
        where.pop(best, None)
        for p in [p for p, c in pair_cnt.items() if c <= 0]:
            del pair_cnt[p]
    return vocab, merges


def tokenizer_json(vocab, merges):
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 0, "content": EOT, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": dict(bl),
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": EOT, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": EOT, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": EOT, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {EOT: {"id": EOT, "ids": [0], "tokens": [EOT]}},
        },
        "decoder": dict(bl),
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {t: i for i, t in enumerate(vocab)},
            "merges": merges,
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train_txt")
    ap.add_argument("out_dir")
    ap.add_argument("--vocab", type=int, default=1024)
    a = ap.parse_args()
    text = open(a.train_txt, encoding="utf-8").read()
    assert "".join(pretokenize(text)) == text
    vocab, merges = train(text, a.vocab)
    assert len(vocab) == a.vocab, len(vocab)
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, merges), f, indent=2, ensure_ascii=False)
        f.write("\n")
    cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {"0": {"content": EOT, "lstrip": False, "normalized": False,
                                       "rstrip": False, "single_word": False, "special": True}},
        "bos_token": EOT,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOT,
        "model_max_length": 512,
        "pad_token": None,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }
    with open(os.path.join(a.out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(a.out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": EOT, "eos_token": EOT}, f, indent=2)
        f.write("\n")
    print(f"vocab {len(vocab)}, merges {len(merges)}")


if __name__ == "__main__":
    main()
