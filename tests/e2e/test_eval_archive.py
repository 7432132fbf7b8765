"""`comp eval --out R.h5`: the eval archive (include/comp/eval_archive.h) read back with h5py and checked
against independent references: ppl equals the number `--json` prints and the golden PyTorch value,
text_sha256 and the weight hashes equal hashlib's, model_sha256 of an hf model equals what `comp prune`
records in /source for the same model, and for a prune archive its /source hash plus the archive file's
own hash; `comp info R.h5 --json` shows the same record; bad --out targets fail before the work and a
failed evaluation leaves nothing behind.
"""
import datetime, hashlib, json, os, shutil, sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import check, finish, last_json, need_shared, run  # noqa: E402

DATA = need_shared()
TMP = os.environ.get("TMPDIR", "/tmp") + f"/comp_evalarch_{os.getpid()}"
os.makedirs(TMP, exist_ok=True)
HELD = f"{DATA}/trained/tinystories_heldout.txt"
LLAMA = f"{DATA}/trained/llama-8L"
S260 = f"{DATA}/llama2c-stories260K"


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def attrs(path):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def evalout(model, out, np_, extra=()):
    r = run(["eval", "--model", model, "--text", HELD, "--seq-len", "256", "--json", "--quiet", "--out", out, *extra],
            np_)
    return r, last_json(r)


def one_error_line(r):
    lines = [x for x in r.stderr.splitlines() if x.startswith("comp") and "error:" in x]
    return r.returncode == 1 and len(lines) == 1, (lines[0] if lines else r.stderr[-200:])


def main():
    golden = json.load(open(f"{DATA}/trained/golden/llama-8L/golden.json"))["heldout_ppl"]["ppl"]

    # --- an hf model on 2 ranks
    out = f"{TMP}/dense.h5"
    r, js = evalout(LLAMA, out, 2)
    check(js is not None and os.path.isfile(out) and not os.path.exists(out + ".tmp"),
          "comp eval --out on 2 ranks writes R.h5 (no R.h5.tmp left)")
    if js is None:
        finish()
    a = attrs(out)
    check(a["format"] == "comp-eval" and int(a["format_version"]) == 1 and int(a["complete"]) == 1,
          f"root attrs: format {a['format']}, format_version {a['format_version']}, complete {a['complete']}")
    check(a["ppl"] == js["ppl"], f"ppl {a['ppl']!r} == the --json ppl {js['ppl']!r} (exactly)")
    check(abs(a["ppl"] / golden - 1) < 1e-6, f"ppl {a['ppl']:.6f} == golden PyTorch {golden:.6f} (rel 1e-6)")
    check(abs(a["nll_mean"] - js["mean_nll"]) <= 1e-15 * abs(js["mean_nll"]) and
          abs(2.718281828459045 ** a["nll_mean"] / a["ppl"] - 1) < 1e-12, "nll_mean = the --json mean_nll, exp = ppl")
    check((a["tokens"], a["windows"], a["seq_len"], a["ranks"], a["predicted"]) ==
          (js["tokens"], js["windows"], 256, 2, js["predicted"]) and a["windows"] == a["tokens"] // 256,
          f"tokens {a['tokens']}, windows {a['windows']}, seq_len {a['seq_len']}, ranks {a['ranks']}")
    check(a["text_sha256"] == sha(HELD), "text_sha256 == hashlib.sha256 of the text file")
    check(a["text_path"] == os.path.realpath(HELD) and a["model_path"] == os.path.realpath(LLAMA),
          "text_path and model_path are absolute")
    check(a["model_kind"] == "hf" and a["archive_complete_sha256"] == "", f"model_kind {a['model_kind']}")
    check(a["model_sha256"] == sha(f"{LLAMA}/model.safetensors"),
          "model_sha256 == hashlib.sha256 of model.safetensors (the weights as loaded)")
    check(a["peak_rss_bytes"] > 1e6 and a["seconds"] > 0, f"peak_rss_bytes {a['peak_rss_bytes']:.0f}, seconds {a['seconds']:.2f}")
    created = datetime.datetime.strptime(a["created"], "%Y-%m-%dT%H:%M:%SZ")
    check(abs((datetime.datetime.utcnow() - created).total_seconds()) < 600, f"created {a['created']} (ISO 8601 UTC, now)")
    check(a["command"].startswith("comp eval --model") and f"--out {out}" in a["command"], f"command: {a['command'][:60]}...")
    check(a["slurm_job_id"] == "" and a["sweep_cell"] == "" and len(a["git_commit"]) >= 7,
          f"slurm_job_id '' outside Slurm, sweep_cell '', git_commit {a['git_commit']}")
    r2 = run(["info", out, "--json"])
    ij = last_json(r2)
    check(ij is not None and ij["ppl"] == a["ppl"] and ij["model_sha256"] == a["model_sha256"] and
          "eval archive" in r2.stdout, "comp info R.h5 --json shows the same record")

    # --- the same model pruned: /source model_sha256 is the same hash; the archive as a model
    arc = f"{TMP}/a.h5"
    r = run(["prune", "--model", LLAMA, "--calib", f"{DATA}/trained/tinystories_train.txt", "--ratio", "0.3",
             "--calib-samples", "4", "--out", arc, "--quiet", "--json"], 2)
    check(last_json(r) is not None, "comp prune llama-8L (2 ranks)")
    with h5py.File(arc, "r") as f:
        src_sha = f["source"].attrs["model_sha256"]
        src_sha = src_sha.decode() if isinstance(src_sha, bytes) else src_sha
    check(src_sha == a["model_sha256"], "eval model_sha256 (hf) == the prune archive's /source model_sha256")
    out2 = f"{TMP}/pruned.h5"
    r, js2 = evalout(arc, out2, 1)
    b = attrs(out2) if js2 else {}
    check(js2 is not None and b.get("model_kind") == "archive" and b.get("model_sha256") == src_sha and
          b.get("archive_complete_sha256") == sha(arc) and b.get("ppl") == js2["ppl"] and b.get("ranks") == 1,
          "prune archive as model: model_kind archive, model_sha256 = its /source hash, "
          "archive_complete_sha256 = hashlib of the archive, ppl = --json")

    # --- a llama2.c checkpoint
    out3 = f"{TMP}/s260.h5"
    r, js3 = evalout(f"{S260}/stories260K.bin", out3, 1, ("--tokenizer", f"{S260}/tok512.bin"))
    c = attrs(out3) if js3 else {}
    check(js3 is not None and c.get("model_kind") == "llama2c" and c.get("model_sha256") == sha(f"{S260}/stories260K.bin")
          and c.get("tokenizer_path") == os.path.realpath(f"{S260}/tok512.bin") and c.get("ppl") == js3["ppl"],
          "llama2.c model: model_kind llama2c, model_sha256 = hashlib of the .bin, tokenizer_path")

    # --- bad outputs fail before the work; a failed eval leaves nothing
    r, _ = evalout(LLAMA, out, 2)
    ok, line = one_error_line(r)
    check(ok and "exists" in line, f"an existing --out is refused: {line}")
    m0 = os.path.getmtime(out)
    r, js4 = evalout(LLAMA, out, 1, ("--force", "--max-windows", "3"))
    check(js4 is not None and attrs(out)["windows"] == 3 and attrs(out)["max_windows"] == 3 and os.path.getmtime(out) >= m0,
          "--force overwrites it (max_windows recorded)")
    r, _ = evalout(LLAMA, f"{TMP}/no/such/dir/r.h5", 2)
    ok, line = one_error_line(r)
    check(ok and "not writable" in line,
          f"--out in a missing folder fails before the work: {line}")
    bad = f"{TMP}/bad.h5"
    r = run(["eval", "--model", LLAMA, "--text", f"{TMP}/missing.txt", "--out", bad, "--seq-len", "256"], 2)
    ok, line = one_error_line(r)
    check(ok and not os.path.exists(bad) and not os.path.exists(bad + ".tmp"),
          f"a failed eval leaves no R.h5 / R.h5.tmp: {line}")
    r = run(["eval", "--model", LLAMA, "--text", HELD, "--out", bad, "--seq-len", "100000"], 1)
    ok, line = one_error_line(r)
    check(ok and not os.path.exists(bad) and not os.path.exists(bad + ".tmp"),
          f"an eval refused by the model leaves nothing: {line}")
    shutil.rmtree(TMP, ignore_errors=True)
    finish()


main()
