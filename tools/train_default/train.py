"""Train the default LLaMA (model.CONFIG) on JS-encoded TinyStories ids.

usage: python3 train.py --work WORK_DIR --out CKPT.pt [options]
  WORK_DIR holds train_ids.bin (int32 LE, encode_js.mjs stories mode: BOS before every story, so the
  model learns to start a story from BOS and to end one with BOS = EOS) and heldout_ids.bin (file mode).
Each step: --batch windows of --seq+1 tokens at uniformly random offsets of the train ids
(torch.Generator seeded with --seed; the same seed seeds the init). AdamW (0.9, 0.95), linear
warm-up then cosine decay to --min-lr-frac * --lr, weight decay on matrices/embeddings only,
grad-norm clip 1.0, residual dropout. Held-out ppl (256-token windows) is logged every
--eval-every steps for the curve only: the final weights are kept.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CONFIG, LlamaForCausalLM, windowed_nll  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--work", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--log", default=None)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--seed", type=int, default=1234)
ap.add_argument("--steps", type=int, default=1150)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--seq", type=int, default=256)
ap.add_argument("--lr", type=float, default=2e-3)
ap.add_argument("--min-lr-frac", type=float, default=0.1)
ap.add_argument("--warmup", type=int, default=80)
ap.add_argument("--wd", type=float, default=0.1)
ap.add_argument("--dropout", type=float, default=0.1)
ap.add_argument("--eval-every", type=int, default=100)
args = ap.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
gen = torch.Generator().manual_seed(args.seed)
cfg = dict(CONFIG)
model = LlamaForCausalLM(cfg, dropout=args.dropout)
model.init_weights(gen)
nparams = sum(p.numel() for p in model.parameters())
print(f"llama: {nparams} parameters", flush=True)

train = torch.from_numpy(np.fromfile(f"{args.work}/train_ids.bin", dtype="<i4").astype(np.int64))
held = np.fromfile(f"{args.work}/heldout_ids.bin", dtype="<i4").astype(np.int64)

decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                         {"params": no_decay, "weight_decay": 0.0}],
                        lr=args.lr, betas=(0.9, 0.95), eps=1e-8)


def lr_at(step):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    lo = args.lr * args.min_lr_frac
    return lo + 0.5 * (args.lr - lo) * (1 + math.cos(math.pi * min(1.0, t)))


log = open(args.log, "w") if args.log else None
n_tr = train.numel()
t0 = time.time()
model.train()
run_loss, run_n = 0.0, 0
for step in range(args.steps):
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    offs = torch.randint(0, n_tr - args.seq - 1, (args.batch,), generator=gen)
    chunk = train[offs[:, None] + torch.arange(args.seq + 1)[None]]
    logits = model(chunk[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    run_loss += loss.item()
    run_n += 1
    last = step == args.steps - 1
    if (step + 1) % 25 == 0 or last:
        rec = {"step": step + 1, "train_loss": round(run_loss / run_n, 4), "lr": lr_at(step),
               "elapsed_s": round(time.time() - t0, 1)}
        if (step + 1) % args.eval_every == 0 or last:
            model.eval()
            nll, _, _ = windowed_nll(model, held, 256)
            model.train()
            rec.update(heldout_nll=round(nll, 5), heldout_ppl=round(math.exp(nll), 4))
        print(json.dumps(rec), flush=True)
        if log:
            log.write(json.dumps(rec) + "\n")
            log.flush()
        run_loss, run_n = 0.0, 0

el = time.time() - t0
print(f"done {args.steps} steps in {el:.1f}s ({el / args.steps:.3f} s/step)", flush=True)
torch.save({"config": cfg, "state_dict": model.state_dict(), "args": vars(args),
            "train_seconds": el, "params": nparams}, args.out)
