#!/usr/bin/python3
"""Bad input gets one clear error line naming the file and the problem, a non-zero exit, and no
crash or hang (also under mpiexec -n 2). Each case corrupts a copy of llama-8L in a temp dir."""
import json, os, shutil, struct, subprocess, sys, tempfile

COMP, SH = os.environ["COMP"], os.environ.get("COMP_SHARED", "")
if not os.path.isdir(SH):
    print(f"SKIP: shared data folder {SH!r} not found (put ../shared beside the checkout)"); sys.exit(77)
SRC = f"{SH}/data/trained/llama-8L"
TEXT = f"{SH}/data/trained/tinystories_heldout.txt"
tmp = tempfile.mkdtemp(prefix="comp_bad_")
passed = failed = 0


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def write_st(path, header, data, raw_len=None):
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", raw_len if raw_len is not None else len(h)) + h + data)


def model_copy(name, st=None, cfg=None, raw=None):
    d = f"{tmp}/{name}"
    shutil.copytree(SRC, d)
    if cfg:
        c = json.load(open(f"{d}/config.json")); cfg(c); json.dump(c, open(f"{d}/config.json", "w"))
    if st:
        h, data = read_st(f"{d}/model.safetensors"); st(h); write_st(f"{d}/model.safetensors", h, data)
    if raw:
        b = open(f"{d}/model.safetensors", "rb").read(); open(f"{d}/model.safetensors", "wb").write(raw(b))
    return d


def case(what, model, expect, text=TEXT, extra=(), np=None):
    global passed, failed
    cmd = (["mpiexec", "-n", str(np)] if np else []) + [COMP, "eval", "--model", model, "--text", text,
                                                         "--seq-len", "256", "--quiet", *extra]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        if np:  # mpiexec adds its own "a process returned non-zero" banner: judge only our lines
            lines = [l for l in lines if l.startswith("comp")]
        ok = r.returncode != 0 and len(lines) == 1 and lines[0].startswith("comp eval: error:") and expect in lines[0]
        got = lines
    except subprocess.TimeoutExpired:
        ok, got = False, ["TIMEOUT (hang)"]
    print(("ok   " if ok else "FAIL ") + what + ": " + " | ".join(got)[:300], flush=True)
    passed, failed = passed + ok, failed + (not ok)


Q = "model.layers.0.self_attn.q_proj.weight"
O = "model.layers.0.self_attn.o_proj.weight"
case("truncated safetensors", model_copy("trunc", raw=lambda b: b[: len(b) // 2]), "out of range")
case("header length out of range", model_copy("hlen", raw=lambda b: struct.pack("<Q", 1 << 40) + b[8:]), "header length")
case("data_offsets out of range", model_copy("offs", st=lambda h: h[Q].update(data_offsets=[0, 10**9])), "out of range")
case("overlapping tensors", model_copy("overlap", st=lambda h: h[O].update(data_offsets=h[Q]["data_offsets"])), "overlap")
case("missing tensor", model_copy("missing", st=lambda h: h.pop("model.layers.3.mlp.up_proj.weight")), "missing tensor model.layers.3.mlp.up_proj.weight")
case("unsupported dtype", model_copy("dtype", st=lambda h: h[Q].update(dtype="I32")), "unsupported dtype I32")
case("config missing field", model_copy("cfgmiss", cfg=lambda c: c.pop("hidden_size")), 'missing field "hidden_size"')
case("config inconsistent with shapes", model_copy("cfgshape", cfg=lambda c: c.update(intermediate_size=400)), "config implies")
case("unknown architecture", model_copy("arch", cfg=lambda c: c.update(model_type="bert")), "unknown architecture")
bad = f"{tmp}/bad.txt"; open(bad, "wb").write(b"Once upon \xff\xfe a time")
case("non-UTF-8 text", SRC, "not valid UTF-8", text=bad)
empty = f"{tmp}/empty.txt"; open(empty, "wb").write(b"")
case("empty text", SRC, "empty", text=empty)
case("seq-len larger than the model allows", SRC, "larger than the model allows", extra=("--seq-len", "1024"))
case("missing model", f"{tmp}/nope", "no such model")
case("2 ranks: missing tensor, no hang", f"{tmp}/missing", "missing tensor", np=2)
case("2 ranks: seq-len too large, no hang", SRC, "larger than the model allows", extra=("--seq-len", "1024"), np=2)
shutil.rmtree(tmp)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
