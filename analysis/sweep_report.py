#!/usr/bin/python3
"""Paper-style tables and figures of a sweep, from its HDF5 archives only.

usage: /usr/bin/python3 analysis/sweep_report.py --out-dir DIR [--jobs JOBS.json] [--paper PAPER.json]
                                                 [--verify auto|all|none] [--require-complete] [--quiet]

Reads DIR/jobs.json (or --jobs) for the list of cells and their grouping, and the archives under
DIR/cells/<cell id>/ (prune.h5: include/comp/archive.h; eval-<eval name>.h5: the eval archive written by
`comp eval --out`). Nothing else is read: no logs, no `done` markers, no stdout of earlier runs. An
archive that is absent, unreadable, of the wrong format or not complete (root attribute complete != 1)
is listed as missing and never read as a result; its table cell shows "—". An eval archive of a pruned
model whose archive_complete_sha256 differs from the sha256 of the cell's prune.h5 (the cell was pruned
again after the eval) is stale and listed as missing too (--verify: auto hashes prune archives up to
2 GiB, all hashes every one, none trusts them).

Writes DIR/report/ (each file written as *.tmp and renamed):
  table.md      rows model x ratio x variant (x seed when the sweep has several), a dense row per model;
                columns: achieved ratio, one ppl column per eval text (4 decimals) with the paper's
                published number beside it where one exists for that model/method/ratio/text, the
                protocol of the row's numbers (calibration samples x length, seed, BOS; per eval text:
                seq_len, windows, tokens, BOS) and its provenance (cell id, archive paths, model sha256,
                git commit, Slurm job id); the summary line of complete/missing cells; the missing
                archives with the reason; the paper's table(s) named by the jobs file's "paper" with
                their protocol and remarks (from analysis/paper_numbers.json = ALGORITHM.md §9).
  table.tex     the same results as LaTeX tabulars (plain LaTeX, no packages needed).
  report.json   everything in the tables, machine-readable, numbers at full precision.
  fig1_layer_redundancy.png     Eq. 3 layer importance per layer on the dense model (first row of
                                /prune/importance_iterations), one panel per model.
  fig2_ppl_vs_ratio.png         ppl vs achieved ratio, one line per variant, dense as a horizontal
                                line; one panel per model and eval text.
  fig5_iterative_vs_oneshot.png only when a variant has --layer-order oneshot (else skipped, and said so).
  fig_layer_ratio_tau.png       per-layer target/achieved ratio and accepted tau of one cell per model.
  fig_time_memory.png           phase_seconds per phase per cell and peak_rss_bytes per rank per cell.
Every PNG is 1600 x 1000 pixels.

Exit status: 0 report written (missing cells are listed, not an error); 1 bad input (one line
"sweep_report: error: ..."); with --require-complete, 1 also when any archive is missing (the report is
still written).
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIG_W, FIG_H, DPI = 16, 10, 100  # every figure: 1600 x 1000 px
PHASES = ["calibration + stage A", "stage B", "stage C", "archive write"]
DASH = "—"
VERIFY_AUTO_LIMIT = 2 << 30


class ReportError(Exception):
    pass


# ---- jobs file and cells ------------------------------------------------------------------------------


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ReportError(f"{path}: {what} not found")
    except (OSError, ValueError) as e:
        raise ReportError(f"{path}: {what} is not readable JSON ({e})")


def fmt_ratio_id(r):
    """The ratio as it appears in a cell id (C's %g)."""
    return "%g" % r


def cell_list(jobs, path):
    """Every cell of the jobs file in the documented order: dense cells first (one per model), then
    models x variants x ratios x seeds. Each: dict(id, model, variant, ratio, seed, dense)."""
    for key in ("models", "variants", "ratios", "seeds", "evals"):
        if not isinstance(jobs.get(key), list):
            raise ReportError(f"{path}: \"{key}\" must be a list")
    for m in jobs["models"]:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not m["name"]:
            raise ReportError(f"{path}: every model needs a \"name\"")
    for v in jobs["variants"]:
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not v["name"]:
            raise ReportError(f"{path}: every variant needs a \"name\"")
    for e in jobs["evals"]:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not e["name"]:
            raise ReportError(f"{path}: every eval needs a \"name\"")
    for r in jobs["ratios"]:
        if not isinstance(r, (int, float)) or isinstance(r, bool):
            raise ReportError(f"{path}: ratios must be numbers (got {r!r})")
    cells = []
    if jobs.get("dense"):
        for m in jobs["models"]:
            cells.append(dict(id=f"{m['name']}__dense", model=m["name"], variant="dense", ratio=0.0, seed=None,
                              dense=True, index=len(cells)))
    for m in jobs["models"]:
        for v in jobs["variants"]:
            for r in jobs["ratios"]:
                for s in jobs["seeds"]:
                    cells.append(dict(id=f"{m['name']}__{v['name']}__r{fmt_ratio_id(r)}__s{s}", model=m["name"],
                                      variant=v["name"], ratio=float(r), seed=s, dense=False, index=len(cells)))
    return cells


# ---- archives -------------------------------------------------------------------------------------------


def py(v):
    """h5py attribute value -> plain Python."""
    import numpy as np
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return [py(x) for x in v.tolist()] if v.dtype.kind in "OS" else v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def open_archive(path, fmt):
    """(h5py.File, None) for a complete archive of format fmt, else (None, reason)."""
    import h5py
    if not os.path.exists(path):
        if os.path.exists(path + ".tmp"):
            return None, f"{os.path.basename(path)}.tmp only (still running, or killed before it finished)"
        return None, "absent"
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        return None, f"unreadable ({str(e).splitlines()[0]})"
    try:
        got = py(f.attrs.get("format", ""))
        if got != fmt:
            f.close()
            return None, f"not a {fmt} archive (format {got!r})"
        c = py(f.attrs.get("complete", 0))
        if c != 1:
            f.close()
            return None, f"incomplete (complete = {c})"
    except Exception as e:  # a damaged attribute: treat as unreadable
        f.close()
        return None, f"unreadable ({e})"
    return f, None


def read_prune(path):
    f, why = open_archive(path, "comp-archive")
    if f is None:
        return None, why
    try:
        root = {k: py(v) for k, v in f.attrs.items()}
        src = {k: py(v) for k, v in f["source"].attrs.items() if k != "config_json"}
        if "prune" not in f:
            return None, "no /prune group (not written by comp prune)"
        p = f["prune"]
        at = {k: py(v) for k, v in p.attrs.items()}
        ds = {}
        for k in ("importance_iterations", "removal_order", "layer_target_ratio", "layer_achieved_ratio", "layer_tau",
                  "phase_seconds", "peak_rss_bytes", "calib_start", "layer_importance"):
            if k in p:
                ds[k] = p[k][()].tolist()
        opts = {}
        try:
            opts = json.loads(at.get("options_json", "{}"))
        except ValueError:
            pass
        return dict(path=path, root=root, source=src, attrs=at, data=ds, options=opts), None
    except Exception as e:
        return None, f"unreadable ({e})"
    finally:
        f.close()


def read_eval(path):
    f, why = open_archive(path, "comp-eval")
    if f is None:
        return None, why
    try:
        at = {k: py(v) for k, v in f.attrs.items()}
        if not isinstance(at.get("ppl"), (int, float)):
            return None, "no ppl attribute"
        return dict(path=path, attrs=at), None
    except Exception as e:
        return None, f"unreadable ({e})"
    finally:
        f.close()


# ---- paper numbers --------------------------------------------------------------------------------------


def norm(s):
    return re.sub(r"[^a-z0-9.]+", "-", str(s).lower()).strip("-")


class Paper:
    def __init__(self, doc, jobs_paper):
        self.doc = doc
        self.jobs_paper = jobs_paper or ""
        self.entries = doc.get("entries", [])

    def _alias(self, section, name):
        """The paper's key in doc[section] whose name or aliases match name, else None."""
        n = norm(name)
        for key, d in self.doc.get(section, {}).items():
            if n == norm(key) or n in [norm(a) for a in d.get("aliases", [])]:
                return key
        return None

    def model(self, name, path=""):
        k = self._alias("models", name)
        if k is None and path:
            k = self._alias("models", os.path.basename(path.rstrip("/")))
        return k

    def metric(self, eval_name):
        return self._alias("metrics", eval_name)

    def methods(self, variant):
        """Paper method names this variant corresponds to (a variant "comp" is Table I/II's COMP and
        Table III's "with identical inputs")."""
        n = norm(variant)
        out = [k for k, d in self.doc.get("methods", {}).items() if n == norm(k) or n in [norm(a) for a in d.get("aliases", [])]]
        if "COMP" in out and "COMP (with identical inputs)" in self.doc.get("methods", {}):
            out.append("COMP (with identical inputs)")
        return out

    def names_table(self, table):
        t = table.split(" (")[0]
        return re.search(r"\b" + re.escape(t) + r"\b", self.jobs_paper) is not None

    def lookup(self, model_key, variant, ratio, metric_key):
        """The published entry for (model, variant, target ratio, metric), entries from the table the jobs
        file names preferred; None if the paper has none."""
        if model_key is None or metric_key is None:
            return None
        methods = ["original"] if variant == "dense" else self.methods(variant)
        cands = [e for e in self.entries if e["model"] == model_key and e["metric"] == metric_key
                 and e["method"] in methods and abs(e["ratio"] - ratio) < 1e-9]
        if not cands:
            return None
        cands.sort(key=lambda e: (not self.names_table(e["table"]), e["method"] != methods[0]))
        return cands[0]

    def tables_named(self):
        """Entries of the tables the jobs file's "paper" names (e.g. "Table I"), for the reference section."""
        return [e for e in self.entries if self.names_table(e["table"])]

    def remarks_named(self, model_keys):
        return [r for r in self.doc.get("remarks", [])
                if self.names_table(r.get("table", "")) or (r.get("model") in model_keys and r.get("model"))]


# ---- collecting the sweep -------------------------------------------------------------------------------


def collect(out_dir, jobs, jobs_path, paper, verify):
    cells = cell_list(jobs, jobs_path)
    evals = jobs["evals"]
    models = {m["name"]: m for m in jobs["models"]}
    rows, missing = [], []
    expected = read_ok = 0
    hashed = {}
    for c in cells:
        cdir = os.path.join(out_dir, "cells", c["id"])
        row = dict(c)
        row["cell_dir"] = os.path.relpath(cdir, out_dir)
        row["prune"] = None
        row["evals"] = {}
        row["missing"] = []
        if not c["dense"]:
            expected += 1
            p = os.path.join(cdir, "prune.h5")
            pr, why = read_prune(p)
            sc = pr["attrs"].get("sweep_cell", "") if pr else ""
            if sc and sc != c["id"]:
                pr, why = None, f"belongs to another cell (its /prune sweep_cell is {sc!r})"
            if pr is None:
                row["missing"].append(dict(archive=os.path.relpath(p, out_dir), reason=why))
            else:
                read_ok += 1
                row["prune"] = pr
        for e in evals:
            expected += 1
            p = os.path.join(cdir, f"eval-{e['name']}.h5")
            ev, why = read_eval(p)
            sc = ev["attrs"].get("sweep_cell", "") if ev else ""
            if sc and sc != c["id"]:
                ev, why = None, f"belongs to another cell (its sweep_cell is {sc!r})"
            if ev is not None and row["prune"] is not None:
                want = ev["attrs"].get("archive_complete_sha256", "")
                pp = row["prune"]["path"]
                do = verify == "all" or (verify == "auto" and os.path.getsize(pp) <= VERIFY_AUTO_LIMIT)
                if want and do:
                    if pp not in hashed:
                        hashed[pp] = sha256_file(pp)
                    ev["verified"] = hashed[pp] == want
                    if not ev["verified"]:
                        ev, why = None, ("stale: evaluates a different prune.h5 (archive_complete_sha256 "
                                         f"{want[:12]} != {hashed[pp][:12]})")
                elif want:
                    ev["verified"] = None
            if ev is None:
                row["missing"].append(dict(archive=os.path.relpath(p, out_dir), reason=why))
                row["evals"][e["name"]] = None
            else:
                read_ok += 1
                row["evals"][e["name"]] = ev
        mk = paper.model(c["model"], models[c["model"]].get("path", ""))
        row["paper_model"] = mk
        row["paper"] = {}
        for e in evals:
            ent = paper.lookup(mk, c["variant"], c["ratio"], paper.metric(e["name"]))
            row["paper"][e["name"]] = ent
        rows.append(row)
        for m in row["missing"]:
            missing.append(dict(cell=c["id"], **m))
    # table order: per model its dense row, then ratio x variant x seed (cell order is models x variants x ...)
    mi = {m["name"]: i for i, m in enumerate(jobs["models"])}
    vi = {v["name"]: i for i, v in enumerate(jobs["variants"])}
    si = {s: i for i, s in enumerate(jobs["seeds"])}
    rows.sort(key=lambda r: (mi[r["model"]], not r["dense"], r["ratio"], vi.get(r["variant"], -1), si.get(r["seed"], -1)))
    n_complete = sum(1 for r in rows if not r["missing"])
    summary = dict(cells_total=len(rows), cells_complete=n_complete, cells_missing=len(rows) - n_complete,
                   archives_expected=expected, archives_read=read_ok, archives_missing=expected - read_ok)
    summary["line"] = (f"{n_complete} of {len(rows)} cells complete, {len(rows) - n_complete} with missing archives "
                       f"({expected - read_ok} of {expected} archives missing or incomplete, shown as {DASH})")
    # cells folders that the jobs file does not name (a different jobs file, or a renamed model)
    known = {c["id"] for c in cells}
    cdir = os.path.join(out_dir, "cells")
    extra = sorted(d for d in os.listdir(cdir) if d not in known) if os.path.isdir(cdir) else []
    return rows, missing, summary, extra


# ---- formatting helpers ---------------------------------------------------------------------------------


def f4(x):
    return DASH if x is None else f"{x:.4f}"


def paper_num(e):
    return DASH if e is None else f"{e['value']:.2f}"


def short(s, n=12):
    return s[:n] if s else DASH


def pct(r):
    return f"{100 * r:g}%"


def calib_protocol(row):
    if row["prune"] is None:
        return None
    o = row["prune"]["options"]
    n = len(row["prune"]["data"].get("calib_start", [])) or o.get("calib_samples")
    pre = o.get("calib_prefix")  # archives before it: BOS when the model has one
    bos = ("BOS first in every calibration window" if pre is None or len(pre) == 1
           else "text only (no BOS)" if not pre else f"ids {pre} first in every calibration window")
    return dict(text=o.get("calib", ""), samples=n, len=o.get("calib_len"), seed=o.get("seed"), bos=bos)


def eval_protocol(ev):
    a = ev["attrs"]
    proto = a.get("protocol", "")
    bos = "BOS first" if (not proto or "with BOS" in proto) else f"see protocol: {proto}"
    return dict(text=a.get("text_path", ""), text_sha256=a.get("text_sha256", ""), seq_len=a.get("seq_len"),
                windows=a.get("windows"), tokens=a.get("tokens"), predicted=a.get("predicted"),
                max_windows=a.get("max_windows", 0), tokenizer=a.get("tokenizer_path", ""), bos=bos,
                protocol=proto or "text as stored, tokenized once with BOS, non-overlapping windows (comp eval)")


def protocol_text(row, evals):
    parts = []
    cp = calib_protocol(row)
    if cp:
        parts.append(f"calib {cp['samples']}×{cp['len']} BOS, seed {cp['seed']}, {os.path.basename(cp['text'])}")
    for e in evals:
        ev = row["evals"].get(e["name"])
        if ev:
            p = eval_protocol(ev)
            part = (f"{e['name']}: {os.path.basename(p['text'])} L={p['seq_len']}, {p['windows']} windows, "
                    f"{p['tokens']} tokens, {p['bos']}")
            if p["max_windows"]:
                part += f" (only the first {p['max_windows']} windows: --max-windows)"
            parts.append(part)
    return "; ".join(parts) if parts else DASH


def array_id(a):
    """"<array job>_<task>" of a Slurm array task, "" otherwise."""
    j, t = a.get("slurm_array_job_id", ""), a.get("slurm_array_task_id", "")
    return f"{j}_{t}" if j else ""


def provenance(row, out_dir):
    """Per row: cell id, archive paths, model sha256 (short), commit, Slurm job id."""
    items = []
    pr = row["prune"]
    if pr:
        items.append(dict(archive=os.path.relpath(pr["path"], out_dir), abs_path=os.path.abspath(pr["path"]),
                          model_sha256=pr["source"].get("model_sha256", ""), git_commit=pr["root"].get("git_commit", ""),
                          comp_version=pr["root"].get("comp_version", ""),
                          slurm_job_id=pr["attrs"].get("slurm_job_id", ""),
                          slurm_array=array_id(pr["attrs"]), sweep_cell=pr["attrs"].get("sweep_cell", "")))
    for name, ev in row["evals"].items():
        if ev:
            a = ev["attrs"]
            items.append(dict(archive=os.path.relpath(ev["path"], out_dir), abs_path=os.path.abspath(ev["path"]),
                              model_sha256=a.get("model_sha256", ""), git_commit=a.get("git_commit", ""),
                              comp_version=a.get("comp_version", ""), slurm_job_id=a.get("slurm_job_id", ""),
                              archive_complete_sha256=a.get("archive_complete_sha256", ""),
                              archive_verified=ev.get("verified"), slurm_array=array_id(a),
                              sweep_cell=a.get("sweep_cell", "")))
    return items


def provenance_text(row, out_dir):
    items = provenance(row, out_dir)
    if not items:
        return f"cell `{row['id']}`: no archive"
    groups = {}  # archives with the same model sha256, commit and job id share one entry
    for it in items:
        k = (short(it["model_sha256"]), short(it["git_commit"]),
             (it["slurm_job_id"] or DASH) + (f" (array {it['slurm_array']})" if it.get("slurm_array") else ""))
        groups.setdefault(k, []).append(os.path.basename(it["archive"]))
    out = [f"cell `{row['id']}`: `{row['cell_dir']}/`"]
    for (sha, commit, job), names in groups.items():
        out.append(f"{', '.join(names)}: model sha256 {sha}, commit {commit}, job {job}")
    return "; ".join(out)


def md_escape(s):
    return str(s).replace("|", "\\|")


def tex_escape(s):
    rep = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
           "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", DASH: "--", "×": r"$\times$",
           "τ": r"$\tau$"}
    return "".join(rep.get(ch, ch) for ch in str(s))


def row_key(row):
    return f"{row['model']} {pct(row['ratio']) if not row['dense'] else '0%'} {row['variant']}"


# ---- table.md / table.tex / report.json -----------------------------------------------------------------


def paper_evals(rows, evals, paper):
    """Eval names that map to a metric of the paper (those get a 'paper' column)."""
    return [e["name"] for e in evals if paper.metric(e["name"]) is not None]


def write_markdown(path, ctx):
    jobs, rows, evals, paper = ctx["jobs"], ctx["rows"], ctx["evals"], ctx["paper"]
    pev = paper_evals(rows, evals, paper)
    seeds = len(jobs["seeds"]) > 1
    L = []
    L.append(f"# Sweep `{jobs.get('name', '?')}`: perplexity after pruning" +
             (f" ({jobs['paper']})" if jobs.get("paper") else ""))
    L.append("")
    L.append(f"Generated by `/usr/bin/python3 analysis/sweep_report.py --out-dir {ctx['out_dir']}` from the HDF5 "
             f"archives under `{ctx['out_dir']}/cells/` only (do not edit by hand); {ctx['generated']}.")
    if jobs.get("description"):
        L.append(f"{jobs['description']}")
    L.append("")
    L.append(f"**{ctx['summary']['line']}.**")
    L.append("")
    L.append("`achieved`: fraction of all parameters removed (pruned input columns + removed layers, "
             "ALGORITHM.md §6) as the archive records it (/prune ratio_achieved). Perplexities with 4 decimals "
             "(full precision in report.json); `paper`: the published number for the same model, method, ratio "
             "and text (analysis/paper_numbers.json, ALGORITHM.md §9), with the paper's protocol (below).")
    L.append("")
    head = ["#", "model", "ratio", "variant"] + (["seed"] if seeds else []) + ["achieved"]
    for e in evals:
        head.append(f"{e['name']} ppl")
        if e["name"] in pev:
            head.append(f"{e['name']} paper")
    head += ["protocol", "provenance"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join("---:" if h in ("#", "achieved") or h.endswith("ppl") or h.endswith("paper")
                             else "---" for h in head) + "|")
    for i, r in enumerate(rows, 1):
        ach = 0.0 if r["dense"] else (r["prune"]["attrs"].get("ratio_achieved") if r["prune"] else None)
        cells = [str(i), r["model"], "0%" if r["dense"] else pct(r["ratio"]), r["variant"]]
        if seeds:
            cells.append(DASH if r["seed"] is None else str(r["seed"]))
        cells.append(f4(ach))
        for e in evals:
            ev = r["evals"].get(e["name"])
            cells.append(f4(ev["attrs"]["ppl"] if ev else None))
            if e["name"] in pev:
                cells.append(paper_num(r["paper"].get(e["name"])))
        cells.append(md_escape(protocol_text(r, evals)))
        cells.append(md_escape(provenance_text(r, ctx["out_dir"])))
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    # paper protocol footnote
    pp = paper.doc.get("protocol", {}).get("ppl", {})
    L.append(f"Paper protocol ({pp.get('source', 'ALGORITHM.md §8')}): {pp.get('recipe', '')}; "
             f"seq_len {pp.get('seq_len')}; calibration {pp.get('calib', {}).get('samples')}×"
             f"{pp.get('calib', {}).get('len')} tokens of {pp.get('calib', {}).get('text', '')}; BOS: {pp.get('bos', '')}.")
    L.append("")
    # missing
    L.append("## Missing or incomplete archives")
    L.append("")
    if ctx["missing"]:
        for m in ctx["missing"]:
            L.append(f"- `{m['cell']}`: `{m['archive']}`: {m['reason']}")
    else:
        L.append("None: every archive of every cell is complete.")
    if ctx["extra"]:
        L.append("")
        L.append("Cell folders not named by the jobs file (not read): " + ", ".join(f"`{x}`" for x in ctx["extra"]))
    L.append("")
    # figures
    L.append("## Figures")
    L.append("")
    for name, fg in ctx["figures"].items():
        if fg["status"] == "written":
            L.append(f"- `{name}`: {fg['title']}")
        else:
            L.append(f"- `{name}`: {fg['reason']}")
    L.append("")
    # paper reference
    L.append("## Published numbers" + (f" ({jobs['paper']})" if jobs.get("paper") else ""))
    L.append("")
    L.append(f"Source: {paper.doc.get('source', '')}. Protocol: {pp.get('recipe', '')}.")
    L.append("")
    ents = paper.tables_named()
    if not any(r["paper_model"] for r in rows):
        L.append("No model of this sweep is one of the paper's (" + ", ".join(paper.doc.get("models", {})) +
                 "), so no row has a published counterpart; the paper's table(s) the jobs file names are given for "
                 "reference.")
        L.append("")
    if ents:
        L.extend(paper_reference_md(ents, paper))
    else:
        L.append(f"The jobs file names no table of the paper (\"paper\": {jobs.get('paper', '')!r}).")
    rem = paper.remarks_named({r["paper_model"] for r in rows if r["paper_model"]})
    if rem:
        L.append("")
        for x in rem:
            L.append(f"- {x['table']}: {x['text']}")
    L.append("")
    write_atomic(path, "\n".join(L))


def paper_reference_md(ents, paper):
    """The named paper tables as Markdown: one row per (table, model, method, ratio), perplexity columns."""
    metrics = [m for m, d in paper.doc["metrics"].items() if d.get("kind") == "ppl"]
    groups = {}
    for e in ents:
        if e["kind"] != "ppl":
            continue
        groups.setdefault((e["table"], e["model"], e["ratio"], e["method"]), {})[e["metric"]] = e["value"]
    L = ["| table | model | ratio | method | " + " | ".join(paper.doc["metrics"][m]["label"] for m in metrics) + " |",
         "|---|---|---|---|" + "---:|" * len(metrics)]
    for (t, mo, ra, me), v in groups.items():
        L.append(f"| {t} | {mo} | {pct(ra)} | {me} | " + " | ".join(f"{v[m]:.2f}" if m in v else DASH for m in metrics)
                 + " |")
    L.append("")
    L.append("Perplexity (lower is better); seq_len 2048. Zero-shot accuracies of Table I are in "
             "analysis/paper_numbers.json.")
    return L


def write_latex(path, ctx):
    jobs, rows, evals, paper = ctx["jobs"], ctx["rows"], ctx["evals"], ctx["paper"]
    pev = paper_evals(rows, evals, paper)
    seeds = len(jobs["seeds"]) > 1
    T = []
    T.append(f"% Generated by analysis/sweep_report.py from {tex_escape(ctx['out_dir_abs'])}/cells/ "
             f"({ctx['generated']}); plain LaTeX, no packages needed: \\input{{table.tex}}")
    cols = ["Model", "Ratio", "Method"] + (["Seed"] if seeds else []) + ["Achieved"]
    align = "lll" + ("r" if seeds else "") + "r"
    for e in evals:
        cols.append(tex_escape(e["name"]))
        align += "r"
        if e["name"] in pev:
            cols.append(tex_escape(e["name"]) + " (paper)")
            align += "r"
    T.append("\\begin{table}[t]")
    T.append("\\centering")
    T.append(f"\\caption{{Sweep {tex_escape(jobs.get('name', ''))}: perplexity after pruning without fine-tuning"
             + (f" ({tex_escape(jobs['paper'])})" if jobs.get("paper") else "")
             + f". {tex_escape(ctx['summary']['line'])}. Protocol and provenance of each row in "
               "Table~\\ref{tab:sweep-provenance}.}")
    T.append("\\label{tab:sweep-results}")
    T.append(f"\\begin{{tabular}}{{{align}}}")
    T.append("\\hline")
    T.append(" & ".join(cols) + " \\\\")
    T.append("\\hline")
    prev_model = None
    for r in rows:
        if prev_model is not None and r["model"] != prev_model:
            T.append("\\hline")
        prev_model = r["model"]
        ach = 0.0 if r["dense"] else (r["prune"]["attrs"].get("ratio_achieved") if r["prune"] else None)
        c = [tex_escape(r["model"]), tex_escape("0%" if r["dense"] else pct(r["ratio"])), tex_escape(r["variant"])]
        if seeds:
            c.append(tex_escape(DASH if r["seed"] is None else r["seed"]))
        c.append(tex_escape(f4(ach)))
        for e in evals:
            ev = r["evals"].get(e["name"])
            c.append(tex_escape(f4(ev["attrs"]["ppl"] if ev else None)))
            if e["name"] in pev:
                c.append(tex_escape(paper_num(r["paper"].get(e["name"]))))
        T.append(" & ".join(c) + " \\\\")
    T.append("\\hline")
    T.append("\\end{tabular}")
    T.append("\\end{table}")
    T.append("")
    # protocol + provenance
    T.append("\\begin{table}[t]")
    T.append("\\centering")
    T.append("\\caption{Protocol and provenance of every row of Table~\\ref{tab:sweep-results}: calibration and "
             "evaluation protocol, archive, model sha256 (first 12 hex digits), git commit, Slurm job id.}")
    T.append("\\label{tab:sweep-provenance}")
    T.append("\\begin{tabular}{rllp{6cm}p{5cm}}")
    T.append("\\hline")
    T.append("\\# & Cell & Model sha256 & Protocol & Archives (commit, job) \\\\")
    T.append("\\hline")
    for i, r in enumerate(rows, 1):
        items = provenance(r, ctx["out_dir"])
        sha = short(items[0]["model_sha256"]) if items else DASH
        arch = "; ".join(f"{it['archive']} ({short(it['git_commit'])}, {it['slurm_job_id'] or DASH})" for it in items)
        T.append(" & ".join([str(i), "\\texttt{" + tex_escape(r["id"]) + "}", tex_escape(sha),
                             tex_escape(protocol_text(r, evals)), tex_escape(arch or DASH)]) + " \\\\")
    T.append("\\hline")
    T.append("\\end{tabular}")
    T.append("\\end{table}")
    T.append("")
    write_atomic(path, "\n".join(T))


def report_json(ctx):
    rows_out = []
    for i, r in enumerate(ctx["rows"], 1):
        pr = r["prune"]
        o = dict(index=i, cell_index=r["index"], cell_id=r["id"], model=r["model"], variant=r["variant"], ratio_target=r["ratio"],
                 seed=r["seed"], dense=r["dense"], cell_dir=r["cell_dir"], complete=not r["missing"],
                 missing=r["missing"], paper_model=r["paper_model"])
        if r["dense"]:
            o["ratio_achieved"] = 0.0
        elif pr:
            a = pr["attrs"]
            o.update(ratio_achieved=a.get("ratio_achieved"), ratio_achieved_stripped=a.get("ratio_achieved_stripped"),
                     method=a.get("method"), n_params=a.get("n_params"), removed_params=a.get("removed_params"),
                     n_removed_layers=a.get("n_removed_layers"), removed_layers=pr["data"].get("removal_order"),
                     ranks=a.get("ranks"), slurm_job_id=a.get("slurm_job_id", ""),
                     phase_seconds=dict(zip(PHASES, pr["data"].get("phase_seconds", []))),
                     peak_rss_bytes=pr["data"].get("peak_rss_bytes"), options=pr["options"],
                     calib=calib_protocol(r))
        else:
            o["ratio_achieved"] = None
        o["evals"] = {}
        for name, ev in r["evals"].items():
            if ev is None:
                o["evals"][name] = None
                continue
            a = ev["attrs"]
            o["evals"][name] = dict(ppl=a.get("ppl"), nll_mean=a.get("nll_mean"), protocol=eval_protocol(ev),
                                    ranks=a.get("ranks"), seconds=a.get("seconds"),
                                    peak_rss_bytes=a.get("peak_rss_bytes"), model_kind=a.get("model_kind"),
                                    model_path=a.get("model_path"), created=a.get("created"),
                                    command=a.get("command"), archive_verified=ev.get("verified"))
        o["paper"] = {k: (None if e is None else dict(value=e["value"], table=e["table"], method=e["method"],
                                                       model=e["model"], ratio=e["ratio"], metric=e["metric"],
                                                       note=e.get("note", "")))
                      for k, e in r["paper"].items()}
        o["provenance"] = provenance(r, ctx["out_dir"])
        rows_out.append(o)
    pd = ctx["paper"].doc
    return dict(format="comp-sweep-report", format_version=1, generated=ctx["generated"],
                generator="analysis/sweep_report.py", out_dir=ctx["out_dir_abs"],
                jobs=dict(path=os.path.abspath(ctx["jobs_path"]), sha256=sha256_file(ctx["jobs_path"]),
                          name=ctx["jobs"].get("name"), paper=ctx["jobs"].get("paper"),
                          description=ctx["jobs"].get("description")),
                evals=ctx["evals"], summary=ctx["summary"], rows=rows_out, missing=ctx["missing"],
                unlisted_cell_dirs=ctx["extra"], figures=ctx["figures"],
                paper=dict(file=os.path.abspath(ctx["paper_path"]), source=pd.get("source"),
                           protocol=pd.get("protocol"), tables_named=ctx["paper"].tables_named(),
                           remarks=ctx["paper"].remarks_named({r["paper_model"] for r in ctx["rows"] if r["paper_model"]})))


def finite(x):
    """x with every NaN/inf float replaced by None (JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# ---- figures -------------------------------------------------------------------------------------------


def figure():
    import matplotlib.pyplot as plt
    return plt.figure(figsize=(FIG_W, FIG_H), dpi=DPI)


def save(fig, path):
    import matplotlib.pyplot as plt
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def grid(n):
    """(rows, cols) of panels for n models."""
    cols = min(n, 3) if n > 0 else 1
    return (n + cols - 1) // cols if n else 1, cols


def models_in_order(ctx):
    return [m["name"] for m in ctx["jobs"]["models"]]


def first_prune(ctx, model, pred=lambda r: True):
    for r in ctx["rows"]:
        if r["model"] == model and r["prune"] and pred(r):
            return r
    return None


def is_comp(r):
    return r["prune"]["attrs"].get("method") == "comp"


def note_panel(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=12, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def fig1(ctx, path):
    models = models_in_order(ctx)
    fig = figure()
    nr, nc = grid(len(models))
    for i, m in enumerate(models):
        ax = fig.add_subplot(nr, nc, i + 1)
        r = first_prune(ctx, m, lambda r: is_comp(r) and r["prune"]["data"].get("importance_iterations")) or \
            first_prune(ctx, m, lambda r: r["prune"]["data"].get("importance_iterations"))
        if r is None:
            note_panel(ax, f"{m}: no complete prune archive")
            ax.set_title(m)
            continue
        d = r["prune"]["data"]
        imp = d["importance_iterations"][0]
        L = len(imp)
        order = [int(x) for x in d.get("removal_order", [])]
        prot = set(r["prune"]["options"].get("protect", []))
        colors = ["#d62728" if l in order else ("#7f7f7f" if l in prot else "#1f77b4") for l in range(L)]
        ax.bar(range(L), imp, color=colors)
        for k, l in enumerate(order):
            ax.annotate(f"removed #{k + 1}", (l, imp[l]), textcoords="offset points", xytext=(0, 4), ha="center",
                        fontsize=9, color="#d62728")
        ax.set_xticks(range(L))
        ax.set_xlabel("layer (original index)")
        ax.set_ylabel("Eq. 3 importance = 1 − mean cos(in, out)")
        ax.set_title(f"{m}\n(from {r['id']}, calib {len(d.get('calib_start', []))}×"
                     f"{r['prune']['options'].get('calib_len')})", fontsize=10)
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(color="#1f77b4", label="prunable"), Patch(color="#7f7f7f", label="protected"),
                           Patch(color="#d62728", label="removed by this cell")], fontsize=8, loc="upper center")
    fig.suptitle("Fig. 1: layer redundancy, Eq. 3 layer importance per layer on the dense model "
                 "(first row of /prune/importance_iterations; low = redundant)", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, path)
    return "Fig. 1: Eq. 3 layer importance per layer on the dense model, per model"


def variant_color(ctx, v):
    import matplotlib
    names = [x["name"] for x in ctx["jobs"]["variants"]]
    cmap = matplotlib.colormaps["tab10"]
    return cmap(names.index(v) % 10) if v in names else "k"


def ppl_panels(ctx, fig, variants, title_of, show_removed=False):
    """One panel per (eval, model): ppl vs achieved ratio for the given variants, dense horizontal line."""
    from matplotlib.ticker import FuncFormatter
    models = models_in_order(ctx)
    evals = [e["name"] for e in ctx["evals"]]
    nr, nc = len(evals) or 1, len(models) or 1
    for ei, en in enumerate(evals):
        for mi, m in enumerate(models):
            ax = fig.add_subplot(nr, nc, ei * nc + mi + 1)
            any_line = False
            for v in variants:
                by_target = {}  # several seeds of one target ratio: one point at the means, min-max bars
                for r in ctx["rows"]:
                    if r["model"] == m and r["variant"] == v and r["prune"] and r["evals"].get(en):
                        by_target.setdefault(r["ratio"], []).append((r["prune"]["attrs"]["ratio_achieved"],
                                                                     r["evals"][en]["attrs"]["ppl"]))
                pts = sorted((sum(a for a, _ in g) / len(g), sum(b for _, b in g) / len(g), min(b for _, b in g),
                              max(b for _, b in g)) for g in by_target.values())
                if pts:
                    any_line = True
                    k = variants.index(v)  # marker, dash and size differ so that equal results stay visible
                    ax.plot([100 * p[0] for p in pts], [p[1] for p in pts], color=variant_color(ctx, v),
                            label=v + (" (mean over seeds)" if any(len(g) > 1 for g in by_target.values()) else ""),
                            marker="osD^vx"[k % 6], linestyle=["-", "--", "-.", ":"][k % 4], linewidth=2.5 - 0.4 * (k % 4),
                            markersize=max(13 - 3 * k, 5), mfc="none" if k else None, mew=2)
                    if any(p[2] != p[3] for p in pts):
                        ax.errorbar([100 * p[0] for p in pts], [p[1] for p in pts],
                                    yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]], fmt="none",
                                    ecolor=variant_color(ctx, v), capsize=4)
                # the paper's numbers for this model/variant, when it has some
                pp = sorted((r["ratio"], r["paper"][en]["value"]) for r in ctx["rows"]
                            if r["model"] == m and r["variant"] == v and r["paper"].get(en))
                if pp:
                    ax.plot([100 * p[0] for p in pp], [p[1] for p in pp], "s--", mfc="none", color=variant_color(ctx, v),
                            label=f"{v} (paper, target ratio)", alpha=0.7)
            dense = [r for r in ctx["rows"] if r["model"] == m and r["dense"] and r["evals"].get(en)]
            if dense:
                y = dense[0]["evals"][en]["attrs"]["ppl"]
                ax.axhline(y, color="k", linestyle=":", linewidth=1.5, label=f"dense {y:.3f}")
                any_line = True
            notes = []
            for k, v in enumerate(variants):  # say so when a line hides another one exactly
                for w in variants[:k]:
                    a = {r["ratio"]: r["evals"][en]["attrs"]["ppl"] for r in ctx["rows"] if r["model"] == m
                         and r["variant"] == v and r["prune"] and r["evals"].get(en)}
                    b = {r["ratio"]: r["evals"][en]["attrs"]["ppl"] for r in ctx["rows"] if r["model"] == m
                         and r["variant"] == w and r["prune"] and r["evals"].get(en)}
                    if a and a == b:
                        notes.append(f"{v} = {w} at every ratio (same perplexities)")
            if show_removed:
                by_ratio = {}
                for r in ctx["rows"]:
                    if r["model"] == m and r["variant"] in variants and r["prune"]:
                        by_ratio.setdefault(r["ratio"], {})[r["variant"]] = \
                            [int(x) for x in r["prune"]["data"].get("removal_order", [])]
                if by_ratio:
                    notes.append("removed layers in order (" + " / ".join(variants) + "):")
                    for ra in sorted(by_ratio):
                        notes.append(f"  r{fmt_ratio_id(ra)}: " + " / ".join(str(by_ratio[ra].get(v, DASH))
                                                                              for v in variants))
            if notes and any_line:  # as legend entries without handles: loc "best" keeps them off the data
                from matplotlib.lines import Line2D
                h, lab = ax.get_legend_handles_labels()
                h += [Line2D([], [], linestyle="none") for _ in notes]
                ax.legend(h, lab + notes, fontsize=8, loc="best")
            if not any_line:
                note_panel(ax, f"{m} / {en}: no complete archives")
            else:
                lo, hi = ax.get_ylim()
                if lo > 0 and hi / lo > 8:
                    ax.set_yscale("log")
                ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
                ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
                ax.set_xlabel("achieved ratio (% of parameters removed)")
                ax.set_ylabel(f"perplexity on {en}" + (" (log)" if ax.get_yscale() == "log" else ""))
                ax.grid(True, which="both", alpha=0.3)
                if not (notes and any_line):
                    ax.legend(fontsize=8, loc="best")
            ax.set_title(title_of(m, en), fontsize=10)


def fig2(ctx, path):
    fig = figure()
    ppl_panels(ctx, fig, [v["name"] for v in ctx["jobs"]["variants"]], lambda m, en: f"{m}, {en}")
    fig.suptitle("Fig. 2: perplexity vs achieved pruning ratio, one line per variant (dense: dotted line)",
                 fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, path)
    return "Fig. 2: perplexity vs achieved ratio per model and eval text, one line per variant, dense as a horizontal line"


def layer_order(args):
    """(the --layer-order value or None, the other args)."""
    a, order, rest, i = [str(x) for x in args], None, [], 0
    while i < len(a):
        if a[i] == "--layer-order" and i + 1 < len(a):
            order, i = a[i + 1], i + 2
            continue
        if a[i].startswith("--layer-order="):
            order = a[i].split("=", 1)[1]
        else:
            rest.append(a[i])
        i += 1
    return order, rest


def oneshot_variants(jobs):
    """[(oneshot variant, iterative partner or None)]: each variant with --layer-order oneshot, paired with
    the variant whose other args are the same and whose order is iterative (explicit or default)."""
    out = []
    for v in jobs["variants"]:
        order, rest = layer_order(v.get("args", []))
        if order != "oneshot":
            continue
        partner = None
        for w in jobs["variants"]:
            o2, r2 = layer_order(w.get("args", []))
            if w is not v and o2 in (None, "iterative") and r2 == rest:
                partner = w["name"]
                break
        out.append((v["name"], partner))
    return out


def fig5(ctx, path):
    pairs = oneshot_variants(ctx["jobs"])
    if not pairs:
        return None
    fig = figure()
    vs = []
    for o, p in pairs:
        vs += [x for x in (p, o) if x and x not in vs]
    ppl_panels(ctx, fig, vs, lambda m, en: f"{m}, {en}", show_removed=True)
    fig.suptitle("Fig. 5: iterative vs one-shot layer order (" +
                 ", ".join(f"{o} vs {p or 'no iterative partner'}" for o, p in pairs) + ")", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, path)
    return "Fig. 5: iterative vs one-shot layer order, perplexity vs achieved ratio"


def fig_tau(ctx, path):
    import numpy as np
    from matplotlib.ticker import FuncFormatter
    models = models_in_order(ctx)
    fig = figure()
    nr, nc = grid(len(models))
    chosen = {}
    for i, m in enumerate(models):
        ax = fig.add_subplot(nr, nc, i + 1)
        cands = [r for r in ctx["rows"] if r["model"] == m and r["prune"] and is_comp(r)
                 and r["prune"]["data"].get("layer_target_ratio")]
        if not cands:
            note_panel(ax, f"{m}: no complete comp prune archive")
            ax.set_title(m)
            continue
        prefer = [r for r in cands if r["variant"] == "comp"] or cands
        r = max(prefer, key=lambda r: (r["ratio"], -(r["seed"] or 0)))
        chosen[m] = r["id"]
        d = r["prune"]["data"]
        tgt, ach = np.array(d["layer_target_ratio"]), np.array(d["layer_achieved_ratio"])
        tau = np.array(d.get("layer_tau", [np.nan] * len(tgt)), dtype=float)
        L = len(tgt)
        removed = set(int(x) for x in d.get("removal_order", []))
        x = np.arange(L)
        ax.bar(x - 0.2, 100 * tgt, 0.4, label="target p_l (Eq. 10)", color="#1f77b4")
        ax.bar(x + 0.2, 100 * ach, 0.4, label="achieved", color="#ff7f0e")
        for l in removed:
            ax.axvspan(l - 0.5, l + 0.5, color="#d62728", alpha=0.15)
            ax.text(l, 1, "removed", rotation=90, ha="center", va="bottom", fontsize=9, color="#d62728")
        for l in set(r["prune"]["options"].get("protect", [])) - removed:
            ax.text(l, 1, "protected", rotation=90, ha="center", va="bottom", fontsize=9, color="#555555")
        ax.set_xticks(x)
        ax.set_xlabel("layer (original index)")
        ax.set_ylabel("per-layer pruning ratio (%)")
        ax2 = ax.twinx()
        ok = np.array([l not in removed and np.isfinite(tau[l]) and tau[l] > 0 for l in range(L)])
        if ok.any():
            ax2.plot(x[ok], tau[ok], "k^", markersize=9, label="accepted τ (Alg. 1)")
            ax2.set_yscale("log")
            ax2.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
            ax2.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if ax2.get_ylim()[1] / ax2.get_ylim()[0] < 100 else ""))
        else:
            ax2.text(0.5, 0.95, "no τ accepted (not by τ)", transform=ax2.transAxes, ha="center")
        ax2.set_ylabel("τ (log)")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
        a = r["prune"]["attrs"]
        ax.set_title(f"{m}: {r['id']}\ntarget {a.get('ratio_target')}, achieved {a.get('ratio_achieved'):.4f}",
                     fontsize=10)
    fig.suptitle("Per-layer target and achieved pruning ratio and accepted τ, one cell per model", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, path)
    return "per-layer target/achieved ratio (bars) and accepted τ (triangles), one cell per model: " + \
        ", ".join(chosen.values())


def fig_time_memory(ctx, path):
    import numpy as np
    rows = [r for r in ctx["rows"] if r["prune"] or any(r["evals"].values())]
    fig = figure()
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    if not rows:
        note_panel(ax1, "no complete archives")
        note_panel(ax2, "no complete archives")
    else:
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        colors = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd"]
        for k, ph in enumerate(PHASES):
            w = np.array([(r["prune"]["data"].get("phase_seconds", [0] * 4)[k] if r["prune"] else 0.0) for r in rows])
            ax1.barh(y, w, left=left, color=colors[k], label=f"prune: {ph}")
            left += w
        ew = np.array([sum(ev["attrs"].get("seconds", 0.0) for ev in r["evals"].values() if ev) for r in rows])
        ax1.barh(y, ew, left=left, color="#bbbbbb", hatch="//", edgecolor="#555555", label="eval (all texts)")
        ax1.set_yticks(y)
        fs = max(4.0, min(8.0, 600.0 / len(rows)))  # cell labels stay legible up to ~150 cells
        ax1.set_yticklabels([r["id"] for r in rows], fontsize=fs)
        ax1.invert_yaxis()
        ax1.set_xlabel("wall time (s)")
        ax1.set_title("time per phase (/prune/phase_seconds) and eval seconds", fontsize=11)
        ax1.legend(fontsize=8, loc="lower right")
        ax1.grid(True, axis="x", alpha=0.3)
        mib = 1024.0 * 1024.0
        first_p = first_e = True
        for i, r in enumerate(rows):
            rss = r["prune"]["data"].get("peak_rss_bytes", []) if r["prune"] else []
            n = len(rss)
            for k, b in enumerate(rss):
                off = (k - (n - 1) / 2) * (0.6 / max(n, 1))
                ax2.plot(b / mib, i + off, "o", color="#1f77b4", markersize=7,
                         label="prune: peak RSS of each rank" if first_p else None)
                ax2.annotate(f"r{k}", (b / mib, i + off), textcoords="offset points", xytext=(6, -3), fontsize=7)
                first_p = False
            for ev in r["evals"].values():
                if ev and ev["attrs"].get("peak_rss_bytes"):
                    ax2.plot(ev["attrs"]["peak_rss_bytes"] / mib, i, "x", color="#d62728", markersize=8,
                             label="eval: peak RSS (max over ranks)" if first_e else None)
                    first_e = False
        ax2.set_yticks(y)
        ax2.set_yticklabels([r["id"] for r in rows], fontsize=fs)
        ax2.set_ylim(len(rows) - 0.5, -0.5)
        ax2.set_xlabel("peak resident memory (MiB)")
        ax2.set_title("peak memory per rank (/prune/peak_rss_bytes) and per eval", fontsize=11)
        ax2.grid(True, axis="x", alpha=0.3)
        ax2.legend(fontsize=8, loc="lower right")
    fig.suptitle("Time per phase and peak memory per rank, per cell", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, path)
    return "time per phase (stacked, s) and peak RSS per rank (MiB), per cell"


# ---- main -----------------------------------------------------------------------------------------------


def main(argv):
    ap = argparse.ArgumentParser(prog="sweep_report.py", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n", 3)[3], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", required=True, help="the sweep's output folder (holds cells/ and jobs.json)")
    ap.add_argument("--jobs", help="the jobs file (default DIR/jobs.json): the cells and their grouping")
    ap.add_argument("--paper", default=os.path.join(HERE, "paper_numbers.json"),
                    help="the paper's published numbers (default analysis/paper_numbers.json)")
    ap.add_argument("--verify", choices=["auto", "all", "none"], default="auto",
                    help="check eval archives of pruned models against the sha256 of prune.h5: auto (prune "
                         "archives up to 2 GiB), all, none")
    ap.add_argument("--require-complete", action="store_true",
                    help="exit 1 when any archive is missing (the report is written anyway)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but errors")
    a = ap.parse_args(argv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import h5py  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        raise ReportError(f"{e} (run with /usr/bin/python3, which sees Debian's h5py/numpy/matplotlib)")
    out_dir = a.out_dir
    if not os.path.isdir(out_dir):
        raise ReportError(f"{out_dir}: output folder not found")
    jobs_path = a.jobs or os.path.join(out_dir, "jobs.json")
    jobs = load_json(jobs_path, "jobs file")
    if not isinstance(jobs, dict):
        raise ReportError(f"{jobs_path}: jobs file must be a JSON object")
    paper_doc = load_json(a.paper, "paper numbers file")
    if not isinstance(paper_doc, dict) or not isinstance(paper_doc.get("entries"), list):
        raise ReportError(f"{a.paper}: paper numbers file has no \"entries\" list")
    paper = Paper(paper_doc, jobs.get("paper", ""))
    rows, missing, summary, extra = collect(out_dir, jobs, jobs_path, paper, a.verify)
    rdir = os.path.join(out_dir, "report")
    try:
        os.makedirs(rdir, exist_ok=True)
    except OSError as e:
        raise ReportError(f"{rdir}: cannot create the report folder ({e.strerror})")
    ctx = dict(jobs=jobs, jobs_path=jobs_path, rows=rows, missing=missing, summary=summary, extra=extra,
               evals=jobs["evals"], paper=paper, paper_path=a.paper, out_dir=out_dir,
               out_dir_abs=os.path.abspath(out_dir),
               generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), figures={})
    for name, fn in [("fig1_layer_redundancy.png", fig1), ("fig2_ppl_vs_ratio.png", fig2),
                     ("fig5_iterative_vs_oneshot.png", fig5), ("fig_layer_ratio_tau.png", fig_tau),
                     ("fig_time_memory.png", fig_time_memory)]:
        p = os.path.join(rdir, name)
        title = fn(ctx, p)
        if title is None:
            if os.path.exists(p):
                os.remove(p)  # a figure of an earlier sweep must not look like this one's
            ctx["figures"][name] = dict(status="skipped", reason="not in this sweep (no variant with --layer-order "
                                        "oneshot)", path=None)
        else:
            ctx["figures"][name] = dict(status="written", title=title, path=os.path.relpath(p, out_dir),
                                        width=FIG_W * DPI, height=FIG_H * DPI)
    write_markdown(os.path.join(rdir, "table.md"), ctx)
    write_latex(os.path.join(rdir, "table.tex"), ctx)
    write_atomic(os.path.join(rdir, "report.json"), json.dumps(finite(report_json(ctx)), indent=1, ensure_ascii=False,
                                                               allow_nan=False, default=str) + "\n")
    if not a.quiet:
        print(f"sweep_report: {summary['line']}")
        print(f"sweep_report: wrote {rdir}/table.md, table.tex, report.json and "
              f"{sum(1 for f in ctx['figures'].values() if f['status'] == 'written')} figures")
    if a.require_complete and missing:
        raise ReportError(f"{out_dir}: {len(missing)} archives missing or incomplete (see {rdir}/table.md)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ReportError as e:
        print(f"sweep_report: error: {e}", file=sys.stderr)
        sys.exit(1)
