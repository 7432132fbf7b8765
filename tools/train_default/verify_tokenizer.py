"""Check tokenizer.json against an independent Python BPE encoder and the JS regex split.

usage: python3 verify_tokenizer.py TOK_DIR HFJS_DIR TRAIN_TXT HELDOUT_TXT WORK_DIR
Needs WORK_DIR/train_whole_ids.bin and WORK_DIR/heldout_ids.bin from encode_js.mjs (file mode).
"""
import json
import os
import subprocess
import sys

import numpy as np

from bpe import EOT, bytes_to_unicode, pretokenize

tok_dir, hfjs, train_txt, held_txt, work = sys.argv[1:6]
here = os.path.dirname(os.path.abspath(__file__))
tj = json.load(open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8"))
vocab = tj["model"]["vocab"]
ranks = {tuple(m.split(" ")): r for r, m in enumerate(tj["model"]["merges"])}
b2u = bytes_to_unicode()
assert len(vocab) == 1024 and vocab[EOT] == 0
assert list(vocab)[1:257] == list(b2u.values())
assert sorted(vocab.values()) == list(range(1024))
cache = {}


def bpe_word(w):
    if w in cache:
        return cache[w]
    sy = [b2u[b] for b in w.encode("utf-8")]
    while len(sy) > 1:
        best = min(range(len(sy) - 1), key=lambda i: ranks.get((sy[i], sy[i + 1]), 1 << 30))
        if (sy[best], sy[best + 1]) not in ranks:
            break
        a, b = sy[best], sy[best + 1]
        ns, k = [], 0
        while k < len(sy):
            if k + 1 < len(sy) and sy[k] == a and sy[k + 1] == b:
                ns.append(a + b); k += 2
            else:
                ns.append(sy[k]); k += 1
        sy = ns
    cache[w] = [vocab[s] for s in sy]
    return cache[w]


def encode(text):
    ids = [0]
    for w in pretokenize(text):
        ids += bpe_word(w)
    return ids


def node(mode, data):
    inp, out = os.path.join(work, "v_in.json"), os.path.join(work, "v_out.json")
    json.dump(data, open(inp, "w", encoding="utf-8"), ensure_ascii=False)
    subprocess.run(["node", os.path.join(here, "encode_js.mjs"), hfjs, tok_dir, mode, inp, out],
                   check=True, stdout=subprocess.DEVNULL)
    return json.load(open(out, encoding="utf-8"))


for name, path in (("train_whole", train_txt), ("heldout", held_txt)):
    text = open(path, encoding="utf-8").read()
    js = np.fromfile(os.path.join(work, f"{name}_ids.bin"), dtype="<i4").tolist()
    py = encode(text)
    assert js == py, f"{name}: JS and Python ids differ"
    print(f"{name}: {len(js)} ids, JS == Python BPE, {len(text) / len(js):.2f} chars/token")

held = open(held_txt, encoding="utf-8").read()
edge = ["", " ", "  ", " a", "a ", "a  b", "\n", "\n\n", "\t x", "é", "\u00a0x", "😀 ok", "a\u200ab",
        "12 345", "don't we'll I'M 's", "â€œHiâ€\x9d", "  \n  x  ", "Hello<|endoftext|>", "x !!! ?"]
paras = held.split("\n\n")[:200]
texts = edge + paras
splits = node("pretok", texts)
for t, s in zip(texts, splits):
    assert s == pretokenize(t), (t, s, pretokenize(t))
print(f"pretokenize == JS GPT-2 regex on {len(texts)} strings")
res = node("list", texts)
bad = 0
for t, r in zip(texts, res):
    if r["decoded"] != t:
        print("round-trip differs:", repr(t), repr(r["decoded"])); bad += 1
    if "<|endoftext|>" not in t and r["ids"] != encode(t):
        print("ids differ:", repr(t)); bad += 1
print(f"list check: {len(texts)} strings, {bad} problems (a literal <|endoftext|> is expected to become id 0)")
