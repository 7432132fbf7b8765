#!/usr/bin/python3
"""comp's tokenizer.json reader against the npm package @huggingface/tokenizers 0.2.0 (an independent,
pure-JS implementation of tokenizer.json): ids must be equal on every one of >= 500 WikiText-2 and
>= 500 TinyStories paragraphs (plus the whole held-out text), for the SentencePiece-kind tokenizer in
../shared/data/trained and for the project's own byte-level (GPT-2 style) models/default/tokenizer.json."""
import json, os, subprocess, sys, tempfile

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
edge = ["", " ", "  x", "a\r\nb", "\t\tindent", "caf\u00e9 na\u00efve \u00fcber", "\u4e2d\u6587 \u65e5\u672c\u8a9e",
        "emoji \U0001F600\U0001F680 ok", "don't we'll I'M 's", "1234567 89", "x !!! ??? ...", "  \n  y  ",
        "\u00a0nbsp", "zero\u200bwidth", "<|endoftext|> literal", "<s> and </s>"]
for name, texts in (("wikitext-2", wiki), ("tinystories", tiny)):
    if len(texts) < 500:
        print(f"FAIL: only {len(texts)} {name} paragraphs (need >= 500)"); sys.exit(1)
tok_dirs = [f"{D}/trained", f"{SRC}/models/default"]
passed = failed = 0
tmp = tempfile.mkdtemp(prefix="comp_tok_")
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
        mism = [i for i in range(len(texts)) if got[i] != ref[i]]
        ok = not mism
        print(("ok   " if ok else "FAIL ") + f"{os.path.basename(td)}/tokenizer.json on {len(texts)} {name} texts"
              + f" ({sum(len(x) for x in ref)} ids)"
              + (f": {len(mism)} differ, first #{mism[0]}: {texts[mism[0]][:80]!r}" if mism else ""), flush=True)
        passed, failed = passed + ok, failed + (not ok)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
