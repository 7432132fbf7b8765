#!/usr/bin/python3
"""comp's tokenizer.json reader against the npm package @huggingface/tokenizers 0.2.0 (an independent,
pure-JS implementation of tokenizer.json): ids must be equal on every one of >= 500 WikiText-2 and
>= 500 TinyStories paragraphs (plus the whole held-out text), for the SentencePiece-kind tokenizer in
../shared/data/trained and for the project's own byte-level (GPT-2 style) models/default/tokenizer.json, and for
variants of it that pre-tokenize with a Split regex as Llama-3 (with ignore_merges and whole words added to the
vocabulary without merges), Qwen2, GPT-2, o200k (GPT-4o, Phi-4-mini) and BLOOM tokenizer.json files do, or as
Falcon's does (Punctuation, ByteLevel, Digits, Split of three digits) or StarCoder2's (Digits, each number alone,
then ByteLevel), and the SentencePiece-kind one as
transformers' GemmaConverter writes Gemma's (no dummy prefix). The variants must differ from each other where their
patterns do (so each pattern is really exercised), and a Split regex comp does not know is refused. One deviation
of the JS package from the Rust library transformers runs is corrected in the reference (rust_compat.mjs): Digits
splits on Unicode numbers (char::is_numeric), not only on ASCII 0-9; that this matters is checked too."""
import json, os, random, shutil, subprocess, sys, tempfile, unicodedata

COMP, SH, SRC = os.environ["COMP"], os.environ.get("COMP_SHARED", ""), os.environ["COMP_SRC"]
HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(SH):
    print(f"SKIP: shared data folder {SH!r} not found (put ../shared beside the checkout)"); sys.exit(77)
if not os.path.isdir(f"{HERE}/node_modules/@huggingface/tokenizers"):
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE)
    if r.returncode != 0:
        print("FAIL: npm install of @huggingface/tokenizers failed"); sys.exit(1)
D = f"{SH}/data"


def paragraphs(path, n):
    """The first n non-blank paragraphs of a rows-joined file (rows joined by a blank line, LF or CRLF)."""
    text = open(path, encoding="utf-8", newline="").read()
    sep = "\r\n\r\n" if "\r\n\r\n" in text else "\n\n"
    return [p for p in text.split(sep) if p.strip()][:n]


wiki = paragraphs(f"{D}/wikitext-2-raw-test-joined/wikitext-test.txt", 600)
tiny = paragraphs(f"{D}/tinystories-valid-excerpt/tinystories_val.txt", 600)
held = open(f"{D}/trained/tinystories_heldout.txt", encoding="utf-8", newline="").read()
edge = ["", " ", "  x", "\u0432\u0432 \u00f22 \u00b2\u00b31 \u0412\u0430\u043d\u044f 2024 \u00bd7", "a\r\nb",
        "\t\tindent", "caf\u00e9 na\u00efve \u00fcber", "\u4e2d\u6587 \u65e5\u672c\u8a9e",
        "emoji \U0001F600\U0001F680 ok", "don't we'll I'M 's", "1234567 89", "x !!! ??? ...", "  \n  y  ",
        "\u00a0nbsp", "zero\u200bwidth", "<|endoftext|> literal", "<s> and </s>",
        "DON'T YOU'LL I'M He'S 'Re 'VE 'd 'x 'Tis 'SUP I'LLX 'REally 'VEry 'Mmm 'Dunno",
        "12345678 3.14159 1,000,000 a1b22c333d4444", "\u0663\u0664\u0665\u0666 "
        "\u00bd\u00be \u00b2\u00b3 \u216b", "a\r\nb\r\n\r\nc", "x \n\n  \n\ty", "end   \n", "trail  ",
        "(hello) [world] {x}", "'quoted' \"dq\"", "--flag !!!\n\n?? \r\n", "\u0085nel\u0085 \ufeffbom \ufeff",
        "\u3000ideographic\u3000space", "tab\tsep\t\tx", "na\u00efve caf\u00e9 \u6771\u4eac \u041c\u043e\u0441\u043a"
        "\u0432\u0430", "emoji\U0001F680launch \U0001F389!", "$100 #tag @user", " \t \n", "\n\n\n", "?\n", "x\r",
        " \u00a0x \u2003\u2003y", "cafe\u0301 a\u0323\u0301 a\u0301\u0323 e\u0301\u0301 \u0301start",
        "\u1100\u1161\u11a8 \uac00\u11a8 \u1100\u1161 \u212b \u2126 \u0958 Vie\u0323\u0302t \u0344 \u1e9b\u0323",
        "camelCaseWord XMLHttpRequest iPhone HTTPServer ABCdef aB Ab's HE'S WE'LL x'Re",
        "\u01c4\u01c5\u01c6 \u01c5ungla \u01c8ubljana \u1f88\u1f80 \u02b0\u02b1x a\u02b0B \u3042\u30a2 "
        "\u0915\u093f\u0928 \u0301x \u0301X \u0301 .\u0301a", "a!\n/b !!\r\n//x ,\n\n/ /\n",
        "\u00c0\u00e9\u00ce\u00f5 \u00dcBER\u00fcber",
        "a\u2026b\u3002c\uff0cd\u3001e\u0964f\u06d4g\u060ch (x|y) !?. ,word, (paren)word| \u2026 \u3002\u3002"]
for name, texts in (("wikitext-2", wiki), ("tinystories", tiny)):
    if len(texts) < 500:
        print(f"FAIL: only {len(texts)} {name} paragraphs (need >= 500)"); sys.exit(1)
tok_dirs = [f"{D}/trained", f"{SRC}/models/default"]
passed = failed = 0
tmp = tempfile.mkdtemp(prefix="comp_tok_")
# the Split regexes of Meta's Llama-3 and Qwen's Qwen2 tokenizer.json files, and GPT-2's written as a Split
CONTRACTIONS, REST = "(?i:'s|'t|'re|'ve|'m|'ll|'d)", r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPLITS = {"llama3": CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|" + REST,
          "qwen2": CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|" + REST,
          "gpt2-split": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"}
# o200k (GPT-4o's; Phi-4-mini's tokenizer.json): words split at case changes, contractions kept on their word
WORD_U, WORD_L = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"
SPLITS["o200k"] = (rf"[^\r\n\p{{L}}\p{{N}}]?{WORD_U}*{WORD_L}+{CONTRACTIONS}?|"
                   rf"[^\r\n\p{{L}}\p{{N}}]?{WORD_U}+{WORD_L}*{CONTRACTIONS}?|"
                   r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# BLOOM's: an optional space and a run of anything but White_Space, ( ) | and 11 punctuation marks (the inner
# [...] is a nested class in Oniguruma)
SPLITS["bloom"] = " ?[^(\\s|[.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c])]+"


def nfc_variant():
    """models/default's tokenizer behind an NFC normalizer (Qwen2's tokenizer.json has one)."""
    tj = json.load(open(f"{SRC}/models/default/tokenizer.json", encoding="utf-8"))
    tj["normalizer"] = {"type": "NFC"}
    d = f"{tmp}/nfc"
    os.makedirs(d, exist_ok=True)
    json.dump(tj, open(f"{d}/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
    shutil.copy(f"{SRC}/models/default/tokenizer_config.json", d)
    return d


def gemma_variant():
    """shared/data/trained's SentencePiece-kind tokenizer as transformers' GemmaConverter writes one: the
    Replace(" ", "▁") normalizer without Llama's Prepend (no dummy prefix), no pre-tokenizer, and the
    decoder without Strip."""
    tj = json.load(open(f"{D}/trained/tokenizer.json", encoding="utf-8"))
    tj["normalizer"] = {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
    tj["pre_tokenizer"] = None
    tj["decoder"]["decoders"] = [x for x in tj["decoder"]["decoders"] if x["type"] != "Strip"]
    d = f"{tmp}/gemma-style"
    os.makedirs(d, exist_ok=True)
    json.dump(tj, open(f"{d}/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
    shutil.copy(f"{D}/trained/tokenizer_config.json", d)
    return d


def split_variant(name, regex, behavior="Isolated", words=()):
    """models/default's tokenizer with a Split + ByteLevel(use_regex false) pre-tokenizer, as Llama-3's and Qwen2's
    are; with ignore_merges (as Llama-3's) when words (byte-level strings) are added to the vocabulary, no merge
    building them."""
    tj = json.load(open(f"{SRC}/models/default/tokenizer.json", encoding="utf-8"))
    tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": behavior, "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    vocab = tj["model"]["vocab"]
    for w in words:
        if w not in vocab:
            vocab[w] = len(vocab)
    tj["model"]["ignore_merges"] = bool(words)
    d = f"{tmp}/{name}"
    os.makedirs(d, exist_ok=True)
    json.dump(tj, open(f"{d}/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
    shutil.copy(f"{SRC}/models/default/tokenizer_config.json", d)
    return d


# Falcon's tokenizer.json (tiiuae/falcon-7b): runs of punctuation apart, GPT-2's ByteLevel, runs of numbers apart,
# then every three digits
FALCON_PRE = {"type": "Sequence", "pretokenizers": [
    {"type": "Punctuation", "behavior": "Contiguous"},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    {"type": "Digits", "individual_digits": False},
    {"type": "Split", "pattern": {"Regex": "[0-9][0-9][0-9]"}, "behavior": "Isolated", "invert": False}]}


# the Digits-first chain (StarCoder2's tokenizer.json): each number character a pre-token, then GPT-2's ByteLevel
DIGITS_PRE = {"type": "Sequence", "pretokenizers": [
    {"type": "Digits", "individual_digits": True},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}


def falcon_variant(name, words=(), pre=None):
    """models/default's tokenizer with Falcon's pre-tokenizer (or pre), whole words added as for split_variant."""
    d = split_variant(name, SPLITS["gpt2-split"], words=words)
    tj = json.load(open(f"{d}/tokenizer.json", encoding="utf-8"))
    tj["pre_tokenizer"] = pre or FALCON_PRE
    json.dump(tj, open(f"{d}/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
    return d


def words_of(regex, d=None):
    """Every pre-token the reference cuts from the texts with this Split (or the tokenizer in d): a vocabulary in
    which any other cut gives other ids."""
    d = d or split_variant("pretok", regex)
    json.dump(wiki + tiny + edge + [held], open(f"{tmp}/pt_in.json", "w"))
    subprocess.run(["node", f"{HERE}/pretokenize.mjs", d, f"{tmp}/pt_in.json", f"{tmp}/pt_out.json"], check=True,
                   cwd=HERE)
    return sorted({w for ws in json.load(open(f"{tmp}/pt_out.json")) for w in ws})


# plain BPE under each Split (Llama-3's with ignore_merges and a few whole words no merge builds); then the
# vocabularies of every Llama-3 / Qwen2 pre-token, and the Llama-3 one under the other two regexes
l3_words, q2_words, o2_words = words_of(SPLITS["llama3"]), words_of(SPLITS["qwen2"]), words_of(SPLITS["o200k"])
bl_words = words_of(SPLITS["bloom"])
fa_words = words_of(None, falcon_variant("pretok-falcon"))
dg_words = words_of(None, falcon_variant("pretok-digits", pre=DIGITS_PRE))
tok_dirs += [split_variant("llama3", SPLITS["llama3"], words=["\u0120once", "\u0120princess", "123", "\u010a\u010a"]),
             split_variant("gpt2-split", SPLITS["gpt2-split"]),
             split_variant("llama3-words", SPLITS["llama3"], words=l3_words),
             split_variant("qwen2-words", SPLITS["qwen2"], words=q2_words),
             split_variant("qwen2-on-llama3-words", SPLITS["qwen2"], words=l3_words),
             split_variant("gpt2-on-llama3-words", SPLITS["gpt2-split"], words=l3_words),
             split_variant("o200k", SPLITS["o200k"]), split_variant("o200k-words", SPLITS["o200k"], words=o2_words),
             split_variant("llama3-on-o200k-words", SPLITS["llama3"], words=o2_words), nfc_variant(), gemma_variant(),
             split_variant("bloom", SPLITS["bloom"]), split_variant("bloom-words", SPLITS["bloom"], words=bl_words),
             split_variant("llama3-on-bloom-words", SPLITS["llama3"], words=bl_words), falcon_variant("falcon"),
             falcon_variant("falcon-words", words=fa_words),
             split_variant("gpt2-on-falcon-words", SPLITS["gpt2-split"], words=fa_words),
             falcon_variant("digits-words", words=dg_words, pre=DIGITS_PRE),
             split_variant("gpt2-on-digits-words", SPLITS["gpt2-split"], words=dg_words)]
print(f"pre-token vocabularies: {len(l3_words)} Llama-3, {len(q2_words)} Qwen2, {len(o2_words)} o200k, "
      f"{len(bl_words)} BLOOM, {len(fa_words)} Falcon, {len(dg_words)} Digits-first pre-tokens", flush=True)
ids_of = {}  # (tokenizer, corpus) -> comp's ids
for td in tok_dirs:
    if not os.path.isfile(f"{td}/tokenizer.json"):
        print(f"FAIL: {td}/tokenizer.json missing"); failed += 1; continue
    for name, texts in (("wikitext-2", wiki), ("tinystories", tiny), ("edge-case", edge), ("heldout whole", [held])):
        inp, out, jl = f"{tmp}/in.json", f"{tmp}/out.json", f"{tmp}/in.jsonl"
        json.dump(texts, open(inp, "w"))
        subprocess.run(["node", f"{HERE}/encode.mjs", td, inp, out], check=True, cwd=HERE)
        ref = json.load(open(out))
        with open(jl, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps(t) + "\n")
        r = subprocess.run([COMP, "tokenize", "--tokenizer", f"{td}/tokenizer.json", "--jsonl", jl],
                           capture_output=True, text=True)
        got = [json.loads(l) for l in r.stdout.splitlines()] if r.returncode == 0 else []
        if r.returncode != 0 or len(got) != len(texts):
            print(f"FAIL {td}: comp tokenize --jsonl gave rc {r.returncode}, {len(got)} lines: {r.stderr.strip()}")
            failed += 1; continue
        ids_of[os.path.basename(td), name] = got
        mism = [i for i in range(len(texts)) if got[i] != ref[i]]
        ok = not mism
        print(("ok   " if ok else "FAIL ") + f"{os.path.basename(td)}/tokenizer.json on {len(texts)} {name} texts"
              + f" ({sum(len(x) for x in ref)} ids)"
              + (f": {len(mism)} differ, first #{mism[0]}: {texts[mism[0]][:80]!r}" if mism else ""), flush=True)
        passed, failed = passed + ok, failed + (not ok)


def check(ok, what):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    passed, failed = passed + ok, failed + (not ok)


def differ(a, b, corpus):
    x, y = ids_of.get((a, corpus)), ids_of.get((b, corpus))
    return sum(p != q for p, q in zip(x, y)) if x and y else 0


# each pattern is exercised: in the Llama-3 pre-token vocabulary, the other regexes' cuts give other ids
for a, b in (("llama3-words", "qwen2-on-llama3-words"), ("llama3-words", "gpt2-on-llama3-words"),
             ("llama3", "gpt2-split"), ("o200k-words", "llama3-on-o200k-words"), ("gemma-style", "trained"),
             ("bloom-words", "llama3-on-bloom-words"), ("falcon-words", "gpt2-on-falcon-words"),
             ("digits-words", "gpt2-on-digits-words")):
    # (WikiText's numbers give the same ids either way: this vocabulary merges nothing onto a digit)
    for corpus in ("edge-case",) + (("wikitext-2",) if a != "digits-words" else ()):
        n = differ(a, b, corpus)
        check(n > 0, f"{a} and {b} give different ids on {n} {corpus} texts")
# Falcon's Digits after ByteLevel: the byte characters \u00b2 \u00b3 \u00b9 \u00bc-\u00be (UTF-8 continuation bytes of
# many letters, e.g. Cyrillic \u0432) are numbers to Rust's char::is_numeric, which comp follows, not to the JS
# package's \d: without the correction the reference differs from comp on those texts
json.dump(edge, open(f"{tmp}/fa_in.json", "w"))
r = subprocess.run(["node", f"{HERE}/encode.mjs", f"{tmp}/falcon-words", f"{tmp}/fa_in.json", f"{tmp}/fa_out.json"],
                   cwd=HERE, env=dict(os.environ, COMP_JS_DIGITS="ascii"))
js_ascii = json.load(open(f"{tmp}/fa_out.json")) if r.returncode == 0 else []
n = sum(a != b for a, b in zip(js_ascii, ids_of.get(("falcon-words", "edge-case"), [])))
check(n > 0, f"Falcon's Digits: the JS package's own reading (ASCII \\d) differs from comp's (Rust's char::is_numeric) "
      f"on {n} edge-case texts")
# the GPT-2 pattern as a Split (\s = White_Space) cuts as ByteLevel's own (\s of ECMAScript) on text without U+0085
n = differ("gpt2-split", "default", "wikitext-2") + differ("gpt2-split", "default", "tinystories")
check(n == 0, f"GPT-2 as a Split regex and ByteLevel's built-in GPT-2 regex agree on the paragraphs ({n} differ)")
# NFC against Python's unicodedata (the version comp's tables were generated from): the NFC tokenizer's ids on
# random strings of starters, composites, Hangul syllables and jamo and combining marks in any order equal the plain
# tokenizer's ids on unicodedata.normalize("NFC", ...) of them, and differ from its ids on the raw strings
rng = random.Random(7)
cps = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) != "Cn"]
marks = [cp for cp in cps if unicodedata.combining(chr(cp))]
decomposable = [cp for cp in cps if unicodedata.decomposition(chr(cp)) and not unicodedata.decomposition(chr(cp))
                .startswith("<")]
starters = decomposable + list(range(0x41, 0x7B)) + list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) \
    + list(range(0x11A8, 0x11C3)) + rng.sample(range(0xAC00, 0xD7A4), 200)
texts = ["".join(chr(c) for c in decomposable[i:i + 40]) for i in range(0, len(decomposable), 40)]
for _ in range(1500):
    texts.append("".join(chr(rng.choice(starters)) + "".join(chr(rng.choice(marks)) for _ in range(rng.randrange(4)))
                         for _ in range(rng.randrange(1, 12))))
nfc_texts = [unicodedata.normalize("NFC", t) for t in texts]


def comp_ids(d, ts):
    with open(f"{tmp}/nfc.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(t) + "\n" for t in ts)
    r = subprocess.run([COMP, "tokenize", "--tokenizer", f"{d}/tokenizer.json", "--jsonl", f"{tmp}/nfc.jsonl"],
                       capture_output=True, text=True)
    return [json.loads(x) for x in r.stdout.splitlines()] if r.returncode == 0 else [r.stderr.strip()]


got, want = comp_ids(f"{tmp}/nfc", texts), comp_ids(f"{SRC}/models/default", nfc_texts)
raw = comp_ids(f"{SRC}/models/default", texts)
mism = [i for i in range(len(texts)) if i >= len(got) or got[i] != want[i]]
check(not mism and len(got) == len(texts), f"NFC normalizer on {len(texts)} strings ({len(decomposable)} decomposable "
      f"characters, {len(marks)} marks) gives the ids of Python's NFC of them"
      + (f": {len(mism)} differ, first {texts[mism[0]]!r}" if mism else ""))
n = sum(a != b for a, b in zip(raw, want))
check(n > len(texts) // 2, f"NFC changes the ids of {n} of the {len(texts)} strings")
# a Split comp cannot reproduce is refused with one error line
for label, pre in (("Punctuation with behavior Isolated", {"type": "Punctuation", "behavior": "Isolated"}),
                  ("Whitespace", {"type": "Whitespace"})):
    d = falcon_variant("refused-" + pre["type"], pre=pre)
    r = subprocess.run([COMP, "tokenize", "--tokenizer", f"{d}/tokenizer.json", "--string", "x"],
                       capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0 and len(lines) == 1 and pre["type"] in lines[0], f"pre_tokenizer {label} is refused: rc "
          f"{r.returncode}, {lines}")
for label, regex, behavior in (("an unknown regex", SPLITS["llama3"].replace("{1,3}", "{1,4}"), "Isolated"),
                               ("behavior Removed", SPLITS["llama3"], "Removed")):
    d = split_variant("refused", regex, behavior)
    r = subprocess.run([COMP, "tokenize", "--tokenizer", f"{d}/tokenizer.json", "--string", "x"],
                       capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0 and len(lines) == 1 and "Split" in lines[0],
          f"Split with {label} is refused: rc {r.returncode}, {lines}")
shutil.rmtree(tmp, ignore_errors=True)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
