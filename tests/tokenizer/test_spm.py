#!/usr/bin/python3
"""comp's SentencePiece tokenizer.model reader (src/tokenizer_spm.c) against the sentencepiece library
(Debian python3-sentencepiece) as oracle. BPE models are trained here, at test time, on text from
../shared/data (TinyStories, WikiText-2, tiny-shakespeare, PTB), with the settings that matter to
encoding: identity normalization, byte_fallback on and off, add_dummy_prefix on and off,
remove_extra_whitespaces on and off, user-defined symbols. Each model encodes every paragraph of a
held-out mix (and edge cases: empty, spaces only, runs of spaces, tabs and newlines, characters the
model never saw, CJK, emoji) with `comp tokenize --no-special --jsonl`; the ids must equal
SentencePieceProcessor.encode's, and comp's decode must equal sentencepiece's. A unigram model and
an nmt_nfkc model must be refused with one error line."""
import json, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_common import COMP, check, finish, need_shared  # noqa: E402

try:
    import sentencepiece as spm
except ImportError:
    print("SKIP: python3-sentencepiece is not installed (apt-get install python3-sentencepiece)")
    sys.exit(77)

DATA = need_shared()
tmp = tempfile.mkdtemp(prefix="comp_spm_")
texts = {"tinystories": f"{DATA}/trained/tinystories_train.txt",
         "wikitext": f"{DATA}/wikitext-2-raw-test-joined/wikitext-test.txt"}
for d in ("tiny-shakespeare", "ptb"):
    for fn in sorted(os.listdir(f"{DATA}/{d}")):
        if fn.endswith(".txt"):
            texts[d] = f"{DATA}/{d}/{fn}"
            break


def paragraphs(path, skip, take):
    t = open(path, encoding="utf-8", errors="replace").read().replace("\r", "")
    ps = [p for p in t.split("\n\n") if p.strip()]
    return ps[skip:skip + take]


train = f"{tmp}/train.txt"
with open(train, "w") as f:
    for path in texts.values():
        for p in paragraphs(path, 0, 300):
            f.write(p.replace("\n", " ") + "\n")
held = []
for path in texts.values():
    held += paragraphs(path, 300, 150)
held += ["", " ", "   leading and trailing   ", "a  b   c    d", "tab\there\nnew\nline", "\n\n\nx",
         "unseen: Ωμέγα ж ǅ ﬁ", "中文字符测试", "emoji 🙂👍🏽 done", "<user> tags <bot> inside", "  ", "x" * 300]
jl, jl1 = f"{tmp}/held.jsonl", f"{tmp}/held1.jsonl"
with open(jl, "w") as f:
    for p in held:
        f.write(json.dumps(p) + "\n")


def comp_tok(model, decode=False):
    r = subprocess.run([COMP, "tokenize", "--tokenizer", model, "--jsonl", jl, "--no-special"]
                       + (["--decode"] if decode else []), capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr.strip())
        return None
    return r.stdout.splitlines()


variants = [("bf", dict(byte_fallback=True)),
            ("nobf", dict(byte_fallback=False)),
            ("noprefix", dict(byte_fallback=True, add_dummy_prefix=False)),
            ("keepspace", dict(byte_fallback=True, remove_extra_whitespaces=False)),
            ("user", dict(byte_fallback=True, user_defined_symbols=["<user>", "<bot>", "<us"]))]
for name, kw in variants:
    prefix = f"{tmp}/{name}"
    spm.SentencePieceTrainer.train(input=train, model_prefix=prefix, vocab_size=800, model_type="bpe",
                                   normalization_rule_name="identity", character_coverage=0.995,
                                   num_threads=1, minloglevel=2, **kw)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    want = [sp.encode(p) for p in held]
    lines = comp_tok(prefix + ".model")
    got = [json.loads(x) for x in lines] if lines else []
    bad = [i for i in range(len(held)) if i >= len(got) or got[i] != want[i]]
    check(lines is not None and not bad, f"{name}: {len(held)} texts, comp ids == sentencepiece ids"
          + (f" (first difference: text {bad[0]} {held[bad[0]][:60]!r}: {got[bad[0]][:12] if bad[0] < len(got) else None}"
             f" vs {want[bad[0]][:12]})" if bad else ""))
    # --decode prints the text after its ids: compare the texts without newlines
    one = [p for p in held if "\n" not in p]
    with open(jl1, "w") as f:
        f.write("".join(json.dumps(p) + "\n" for p in one))
    r = subprocess.run([COMP, "tokenize", "--tokenizer", prefix + ".model", "--jsonl", jl1, "--no-special", "--decode"],
                       capture_output=True, text=True)
    dl = r.stdout.split("\n")
    ok = r.returncode == 0 and all(dl[2 * i + 1] == sp.decode(sp.encode(p)) for i, p in enumerate(one))
    check(ok, f"{name}: comp decode == sentencepiece decode on {len(one)} one-line texts")

# THUDM's ChatGLMTokenizer (tokenization_chatglm.py) wraps such a model: SPTokenizer numbers [MASK] [gMASK]
# [sMASK] sop eop from sp.vocab_size() on and get_prefix_tokens() puts [gMASK] sop before every input. comp
# takes the class from tokenizer_config.json beside the model (tokenizer_class, else auto_map's AutoTokenizer);
# another class adds nothing, as sentencepiece's encode does.
sp = spm.SentencePieceProcessor(model_file=f"{tmp}/bf.model")
n = sp.vocab_size()
AUTO = {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]}
for name, cfg, pre in [("tokenizer_class ChatGLMTokenizer", {"tokenizer_class": "ChatGLMTokenizer"}, [n + 1, n + 3]),
                       ("auto_map only", {"auto_map": AUTO}, [n + 1, n + 3]),
                       ("tokenizer_class LlamaTokenizer", {"tokenizer_class": "LlamaTokenizer"}, [])]:
    d = f"{tmp}/family-{len(os.listdir(tmp))}"
    os.makedirs(d)
    shutil.copy(f"{tmp}/bf.model", f"{d}/tokenizer.model")
    json.dump(cfg, open(f"{d}/tokenizer_config.json", "w"))
    r = subprocess.run([COMP, "tokenize", "--tokenizer", f"{d}/tokenizer.model", "--jsonl", jl1, "--decode"],
                       capture_output=True, text=True)
    dl = r.stdout.split("\n")
    ok = r.returncode == 0 and all(json.loads(dl[2 * i]) == pre + sp.encode(p)
                                   and dl[2 * i + 1] == sp.decode(sp.encode(p)) for i, p in enumerate(one))
    lines = comp_tok(f"{d}/tokenizer.model")
    ok &= lines is not None and [json.loads(x) for x in lines] == [sp.encode(p) for p in held]
    check(ok, f"{name}: comp tokenize == {pre or 'nothing'} + sentencepiece ids on {len(one)} texts, the decoded text "
          f"leaves the specials out; --no-special == sentencepiece ids on {len(held)}")

for name, kw, word in [("unigram", dict(model_type="unigram"), "model_type 1"),
                       ("nfkc", dict(model_type="bpe", normalization_rule_name="nmt_nfkc"), "normalizer")]:
    prefix = f"{tmp}/{name}"
    spm.SentencePieceTrainer.train(input=train, model_prefix=prefix, vocab_size=800, num_threads=1, minloglevel=2, **kw)
    r = subprocess.run([COMP, "tokenize", "--tokenizer", prefix + ".model", "--string", "x"], capture_output=True,
                       text=True)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    check(r.returncode == 1 and len(lines) == 1 and word in lines[0], f"{name} model refused: {' | '.join(lines)[:200]}")
finish()
