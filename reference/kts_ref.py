#!/usr/bin/python3
"""PyTorch goldens for @kts/steer's KL-then-steer pieces: extraction, steering, the KTS loss,
LoRA gradients, one clipped AdamW step, and a two-step trainKTS run.

Run:  /usr/bin/python3 reference/kts_ref.py
Writes reference/goldens/kts/kts.json (deterministic: same bytes on every run).

The model is the tiny float32 checkpoint reference/goldens/llama/mha_f32 written by
llama_ref.py (read from its model.safetensors, whose sha256 is recorded in the golden). The
forward pass is llama_ref.Llama.forward itself, unchanged. LoRA and steering are hooked in
through the weights dict it reads: that forward computes every projection as `x @ W.T`, so a
projection weight is replaced by a `Proj` object whose `.T` returns itself and whose
`__rmatmul__(x)` returns

    x @ W.T + ((x @ A.T) @ B.T) * alpha / r        (LoRA, as nn.LoRALinear)
            + mask[b, t] * sum_k coeffs[b, k] * V[k] (steering, on down_proj of a steered layer)

The steering term rides on the MLP's down projection of layer i, i.e. it is added inside
`h + mlp(h)`. That is the decoder layer's output plus the steering delta, as in
@kts/llama's forward (h += mask * sum_k coeffs * vectors after decoder layer i), up to float
association (one rounding).

Semantics mirrored from packages/steer/src:
  - extract.ts collectActivations: texts (positives, then negatives) in chunks of batch_size,
    each chunk left-padded with 0 with an attention mask (positions = cumsum(mask) - 1, as in
    llama_ref); the decoder-layer output at the last position ('last'), or the mean over the
    answer tokens ('answer-mean'), in float64 from the float32 activations.
  - vector.ts meanDifference (mean(pos) - mean(neg)) and pcaDirection (top right singular
    vector of the pair-difference matrix, i.e. the top eigenvector of sum d d^T, uncentred;
    sign-aligned with the mean difference; rescaled to its norm), in float64.
  - kts.ts ktsLoss: mean over non-pad tokens of KL(P_steered || P_original) per position,
    KL = sum_v P (log P - log Q) over the vocabulary, the original logits detached.
  - kts.ts trainKTS step: reference forward with LoRA off, no steering, no grad; steered
    forward with LoRA on; backward; clip_grad_norm_ (max norm 0.25 here, below every gradient
    norm so that clipping acts; trainKTS's default is 1); AdamW(lr, betas (0.9, 0.999), eps 1e-8,
    weight_decay 0) as kts.ts constructs it; lr from optim.warmupCosine (warmup
    min(10, floor(steps / 10)) = 0 for 2 steps, so lr, then lr / 2).
  - The trainKTS golden uses the same batch, one steering vector, p = 1 and the coefficients
    drawSteering gives for seed 0 (copied in below). The TS test starts trainKTS from the
    golden's adapter by resuming from a step-0 checkpoint (trainKTS has no other way in).

Self-check: everything is run twice, in float32 (written as the golden) and in float64 with
the same inputs (llama_ref's softmax and RMSNorm force float32, so for that run its module
globals F and rms_norm are swapped for dtype-preserving versions). The script refuses to write
unless every golden value satisfies |f64 - f32| <= (atol + rtol*|f32|) / 4 with the
tolerances of test/steer/golden-kts.test.ts (TOL below; keep the two in sync). A correct
float32 implementation with another operation order is then about as far from exact as torch
is, so it lands within the full tolerance of the golden with margin.
"""
import contextlib
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_ref  # noqa: E402  (the reference Llama; not modified here)

MODEL_DIR = os.path.join(HERE, "goldens", "llama", "mha_f32")
OUT_DIR = os.path.join(HERE, "goldens", "kts")

# Same numbers as TOL in test/steer/golden-kts.test.ts (there with the reasons; the test's
# pcaMath tolerance, for TS-vs-golden float64 math on the same activations, has no f32 twin).
TOL = {  # kind: (rtol, atol, atol_of_max): |got - golden| <= atol + atol_of_max * max|golden| + rtol * |golden|
    "acts": (1e-5, 1e-5, 0.0),
    "vector": (1e-5, 1e-5, 0.0),
    "logits": (1e-5, 1e-5, 0.0),
    "loss": (1e-5, 1e-7, 0.0),
    "grads": (1e-5, 0.0, 1e-5),  # the floor scales with each gradient tensor's largest entry
    "grad_norm": (1e-5, 0.0, 0.0),
    "weights": (1e-5, 1e-5, 0.0),
    "train_weights": (1e-5, 1e-4, 0.0),
}

# --- constants shared with the TS side --------------------------------------------------------
LAYERS = [0, 1]
EXTRACT_BATCH = 3  # 10 texts -> chunks of 3, 3, 3, 1, each padded on its own
RANK, ALPHA = 2, 4
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STEP_COEFFS = [1.5, -0.7]  # per-sequence coefficients for the steered logits / loss / pieces step
LR = 1e-2
# Below the gradient norms of every step here (0.52 to 0.84), so clipping is active in all of them.
MAX_GRAD_NORM = 0.25
# trainKTS(seed 0, coeff 1.5, prob 1, one vector) draws its coefficients with drawSteering from
# packages/steer/src/kts.ts. Computed in node, not here (the generator is TS-only):
#   drawSteering(0, 0, 1, 1.5, 1) -> { vector: 0, coeff: 1.1154526103175764 }
#   drawSteering(0, 1, 1, 1.5, 1) -> { vector: 0, coeff: -0.35150883509303443 }
# The TS test re-derives both with drawSteering and checks them against this golden.
TRAIN_SEED, TRAIN_COEFF, TRAIN_PROB = 0, 1.5, 1.0
TRAIN_DRAWN = [1.1154526103175764, -0.35150883509303443]
TRAIN_STEPS = 2
POS_END, NEG_END = 7, 50  # last tokens of the positive / negative answers


def warmup_cosine(step, warmup, total, min_ratio=0.0):
    """optim.warmupCosine from packages/tensor/src/optim.ts."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


# --- checkpoint ---------------------------------------------------------------------------------

def read_safetensors_f32(path):
    """Minimal reader for the F32 files llama_ref.write_safetensors writes."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, hashlib.sha256(raw).hexdigest()


def load_checkpoint(path):
    with open(os.path.join(path, "config.json")) as f:
        hf = json.load(f)
    cfg = dict(hf)
    cfg["head_dim"] = hf.get("head_dim") or hf["hidden_size"] // hf["num_attention_heads"]
    weights, sha = read_safetensors_f32(os.path.join(path, "model.safetensors"))
    return cfg, weights, sha


# --- float64 mode for llama_ref.Llama.forward -------------------------------------------------

class _DtypePreservingF:
    """Stands in for torch.nn.functional inside llama_ref during the float64 run."""

    @staticmethod
    def softmax(x, dim, dtype=None):
        return torch.softmax(x, dim)

    silu = staticmethod(F.silu)


def _rms_norm_native(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


@contextlib.contextmanager
def precision(dtype):
    if dtype == torch.float32:
        yield
        return
    saved = llama_ref.F, llama_ref.rms_norm
    llama_ref.F, llama_ref.rms_norm = _DtypePreservingF, _rms_norm_native
    try:
        yield
    finally:
        llama_ref.F, llama_ref.rms_norm = saved


# --- LoRA and steering hooks ------------------------------------------------------------------

class Proj:
    """A projection weight for llama_ref.Llama.forward, which computes `x @ W.T`."""

    def __init__(self, weight, lora=None, scaling=0.0, add=None):
        self.weight, self.lora, self.scaling, self.add = weight, lora, scaling, add

    @property
    def T(self):
        return self

    def __rmatmul__(self, x):
        y = x @ self.weight.T
        if self.lora is not None:
            a, b = self.lora
            y = y + ((x @ a.T) @ b.T) * self.scaling
        if self.add is not None:
            y = y + self.add
        return y


def lora_paths(cfg):
    """Module paths in the order attachLoRA's walk visits them (= loraParameters order)."""
    out = []
    for i in range(cfg["num_hidden_layers"]):
        for f in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            out.append(f"model.layers.{i}.self_attn.{f}")
        for f in ["gate_proj", "up_proj", "down_proj"]:
            out.append(f"model.layers.{i}.mlp.{f}")
    return [p for p in out if p.rsplit(".", 1)[1] in TARGETS]


def forward(model, ids, mask, lora=None, steer=None):
    """model = (cfg, weights); lora = {path: (A, B)} or None (off); steer = (layers, {layer: V [K, D]},
    coeffs [B, K]) or None. Returns (logits [B, T, V], [decoder-layer outputs])."""
    cfg, base = model
    w = dict(base)
    projs = {}
    if lora:
        for path, ab in lora.items():
            projs[path] = Proj(base[path + ".weight"], ab, ALPHA / RANK)
    if steer:
        layers, vectors, coeffs = steer
        B, T = ids.shape
        for l in layers:
            delta = coeffs @ vectors[l]  # [B, D]
            add = torch.ones(B, T, 1, dtype=delta.dtype) * delta[:, None, :]  # mask: every position
            path = f"model.layers.{l}.mlp.down_proj"
            p = projs.get(path) or Proj(base[path + ".weight"])
            p.add = add
            projs[path] = p
    for path, p in projs.items():
        w[path + ".weight"] = p
    return llama_ref.Llama(cfg, w).forward(ids, mask)


def kts_loss(steered, original, mask):
    logp = F.log_softmax(steered, -1)
    logq = F.log_softmax(original.detach(), -1)
    kl = (logp.exp() * (logp - logq)).sum(-1)
    m = mask.to(kl.dtype)
    return (kl * m).sum() / m.sum()


# --- data -------------------------------------------------------------------------------------

def rand_ids(g, n, lo, hi):
    return [int(x) for x in torch.randint(lo, hi, (n,), generator=g)]


def make_data(V):
    g = torch.Generator().manual_seed(4242)
    pairs = []
    for pre_len, pos_len, neg_len in [(3, 1, 2), (5, 2, 1), (2, 3, 3), (6, 1, 1), (4, 2, 3)]:
        prefix = rand_ids(g, pre_len, 3, V)
        # Positive answers: tokens from the low half of the vocabulary ending in POS_END;
        # negative: the high half ending in NEG_END. A consistent contrast, so the pair
        # differences have a dominant direction (a clear PCA eigengap).
        pairs.append({
            "prefix": prefix,
            "positive": prefix + rand_ids(g, pos_len - 1, 3, V // 2) + [POS_END],
            "negative": prefix + rand_ids(g, neg_len - 1, V // 2, V) + [NEG_END],
            "answer_from": pre_len,
        })
    benign = [rand_ids(g, 9, 3, V), rand_ids(g, 6, 3, V)]
    return pairs, benign


def pad(seqs, side):
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for b, s in enumerate(seqs):
        start = T - len(s) if side == "left" else 0
        ids[b, start:start + len(s)] = torch.tensor(s)
        mask[b, start:start + len(s)] = 1
    return ids, mask


# --- 1. extraction ----------------------------------------------------------------------------

def collect_activations(model, texts, layers, position, batch_size):
    out = {l: [] for l in layers}
    for c in range(0, len(texts), batch_size):
        group = texts[c:c + batch_size]
        ids, mask = pad([t["ids"] for t in group], "left")
        T = ids.shape[1]
        with torch.no_grad():
            _, hidden = forward(model, ids, mask)
        for l in layers:
            h = hidden[l].double()
            for b, t in enumerate(group):
                if position == "last":
                    out[l].append(h[b, T - 1])
                else:
                    start = T - len(t["ids"]) + t["answer_from"]
                    out[l].append(h[b, start:T].sum(0) / (T - start))
    return {l: torch.stack(rows) for l, rows in out.items()}


def mean_difference(P, N):
    return P.mean(0) - N.mean(0)


def pca_direction(P, N):
    D = P - N
    _, S, Vh = torch.linalg.svd(D, full_matrices=False)
    gap = float((S[1] / S[0]) ** 2) if len(S) > 1 else 0.0
    v = Vh[0]
    mean = mean_difference(P, N)
    if float(v @ mean) < 0:
        v = -v
    return v / v.norm() * mean.norm(), gap


def extraction(model, pairs, dtype):
    texts = [{"ids": p["positive"], "answer_from": p["answer_from"]} for p in pairs] + \
            [{"ids": p["negative"], "answer_from": p["answer_from"]} for p in pairs]
    n = len(pairs)
    res = {}
    with precision(dtype):
        for position in ["last", "answer-mean"]:
            acts = collect_activations(model, texts, LAYERS, position, EXTRACT_BATCH)
            entry = {"acts": {}, "mean_diff": {}, "pca": {}, "gap": {}}
            for l in LAYERS:
                A = acts[l]
                entry["acts"][l] = A
                entry["mean_diff"][l] = mean_difference(A[:n], A[n:])
                entry["pca"][l], entry["gap"][l] = pca_direction(A[:n], A[n:])
            res[position] = entry
        # Left padding must not change anything: each text alone, unpadded.
        for i, t in enumerate(texts):
            with torch.no_grad():
                _, hidden = forward(model, torch.tensor([t["ids"]]), None)
            for l in LAYERS:
                err = float((hidden[l][0, -1].double() - res["last"]["acts"][l][i]).abs().max())
                assert err < (1e-5 if dtype == torch.float32 else 1e-12), f"left-padded vs single: {err}"
    return res


# --- 2-4. steering, loss, LoRA step, trainKTS -------------------------------------------------

def make_lora_init(cfg, g):
    init = {}
    for path in lora_paths(cfg):
        shape = {
            "q_proj": (cfg["num_attention_heads"] * cfg["head_dim"], cfg["hidden_size"]),
            "k_proj": (cfg["num_key_value_heads"] * cfg["head_dim"], cfg["hidden_size"]),
            "v_proj": (cfg["num_key_value_heads"] * cfg["head_dim"], cfg["hidden_size"]),
            "o_proj": (cfg["hidden_size"], cfg["num_attention_heads"] * cfg["head_dim"]),
            "gate_proj": (cfg["intermediate_size"], cfg["hidden_size"]),
            "up_proj": (cfg["intermediate_size"], cfg["hidden_size"]),
            "down_proj": (cfg["hidden_size"], cfg["intermediate_size"]),
        }[path.rsplit(".", 1)[1]]
        out_f, in_f = shape
        # A like nn.LoRALinear's init, U(-1/sqrt(in), 1/sqrt(in)); B nonzero (LoRA inits it to 0),
        # so that both A and B get gradients and the adapter changes the forward.
        a = (torch.rand(RANK, in_f, generator=g) * 2 - 1) / math.sqrt(in_f)
        b = torch.randn(out_f, RANK, generator=g) * 0.05
        init[path] = (a, b)
    return init


def train(model, ids, mask, lora_init, steer_vectors, schedule, dtype, max_norm=MAX_GRAD_NORM):
    """schedule: [(coeffs [B] per sequence, lr)] per step. Returns per-step records and the final weights."""
    paths = list(lora_init)
    params = {p: (a.to(dtype).clone().requires_grad_(), b.to(dtype).clone().requires_grad_()) for p, (a, b) in lora_init.items()}
    flat = [t for p in paths for t in params[p]]
    opt = torch.optim.AdamW(flat, lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps = []
    with precision(dtype):
        for coeffs, lr in schedule:
            for grp in opt.param_groups:
                grp["lr"] = lr
            with torch.no_grad():
                ref, _ = forward(model, ids, mask)
            c = torch.tensor(coeffs, dtype=torch.float32).to(dtype)[:, None]  # the TS side makes f32 coeffs
            steered, _ = forward(model, ids, mask, lora=params, steer=(LAYERS, steer_vectors, c))
            loss = kts_loss(steered, ref, mask)
            opt.zero_grad()
            loss.backward()
            grads = {}
            for p in paths:
                grads[p + ".lora_A"] = params[p][0].grad.detach().clone()
                grads[p + ".lora_B"] = params[p][1].grad.detach().clone()
            norm = torch.nn.utils.clip_grad_norm_(flat, max_norm)
            opt.step()
            steps.append({"loss": loss.detach(), "grads": grads, "grad_norm": norm.detach(), "lr": lr})
    final = {}
    for p in paths:
        final[p + ".lora_A"] = params[p][0].detach().clone()
        final[p + ".lora_B"] = params[p][1].detach().clone()
    return steps, final


def steering_and_step(model, benign, lora_init, vectors, dtype):
    ids, mask = pad(benign, "right")
    vecs = {l: vectors[l].to(dtype)[None, :] for l in LAYERS}  # [K = 1, D]
    res = {}
    with precision(dtype), torch.no_grad():
        c = torch.tensor(STEP_COEFFS, dtype=torch.float32).to(dtype)[:, None]
        original, _ = forward(model, ids, mask)
        steered, _ = forward(model, ids, mask, steer=(LAYERS, vecs, c))
        res["steered_logits"] = steered
        res["loss"] = kts_loss(steered, original, mask)
    step, final = train(model, ids, mask, lora_init, vecs, [(STEP_COEFFS, LR)], dtype)
    res["step"] = step[0]
    res["step_after"] = final
    warmup = min(10, TRAIN_STEPS // 10)  # trainKTS's default
    sched = [([TRAIN_DRAWN[s]] * len(benign), LR * warmup_cosine(s, warmup, TRAIN_STEPS)) for s in range(TRAIN_STEPS)]
    tsteps, tfinal = train(model, ids, mask, lora_init, vecs, sched, dtype)
    res["train"] = tsteps
    res["train_after"] = tfinal
    res["mask"] = mask
    return res


# --- output -----------------------------------------------------------------------------------

def f32_list(t):
    """Shortest decimals that give back the same float32 after JSON.parse + Float32Array."""
    a = t.detach().to(torch.float32).contiguous().numpy().ravel()
    out = [float(str(x)) for x in a]
    assert all(np.float32(v) == x for v, x in zip(out, a)), "float32 round trip"
    return out


def f64_list(t):
    return [float(x) for x in t.detach().to(torch.float64).numpy().ravel()]


def arr(t, f64=False):
    return {"shape": list(t.shape), "data": f64_list(t) if f64 else f32_list(t)}


class SelfCheck:
    """|f32 - f64| against a quarter of the test's tolerance; collects the worst case per kind."""

    def __init__(self):
        self.worst = {}  # kind -> (fraction of the quarter tolerance, max abs error, name)
        self.failures = []

    def __call__(self, kind, name, g32, g64, mask=None):
        rtol, atol, atol_of_max = TOL[kind]
        a = g32.detach().to(torch.float64)
        b = g64.detach().to(torch.float64)
        d = (a - b).abs()
        lim = (atol + atol_of_max * float(a.abs().max()) + rtol * a.abs()) / 4
        if mask is not None:
            keep = mask.bool()
            d, lim = d[keep], lim[keep]
        ratio = float((d / lim).max())
        if ratio > 1:
            self.failures.append(f"{name}: uses {ratio:.2f} of the quarter tolerance {kind} {TOL[kind]} (max abs error {float(d.max()):.3g})")
        if ratio > self.worst.get(kind, (0,))[0]:
            self.worst[kind] = (ratio, float(d.max()), name)

    def report(self):
        for k, (r, e, n) in sorted(self.worst.items()):
            print(f"    {k:14s} {r:.3f}  (max abs {e:.2g}, at {n})")
        if self.failures:
            raise SystemExit("self-check failed (golden not written):\n  " + "\n  ".join(self.failures))


def main():
    torch.manual_seed(0)
    cfg, w32, sha = load_checkpoint(MODEL_DIR)
    m32 = (cfg, w32)
    m64 = (cfg, {k: v.double() for k, v in w32.items()})
    V = cfg["vocab_size"]
    pairs, benign = make_data(V)
    check = SelfCheck()

    ex32 = extraction(m32, pairs, torch.float32)
    ex64 = extraction(m64, pairs, torch.float64)
    extract_j = {}
    for position in ["last", "answer-mean"]:
        e32, e64 = ex32[position], ex64[position]
        ej = {"acts": {}, "mean_diff": {}, "pca": {}, "pca_gap": {}}
        for l in LAYERS:
            assert e32["gap"][l] < 0.5, f"PCA eigengap too small ({position}, layer {l}): {e32['gap'][l]}"
            check("acts", f"{position}.acts.{l}", e32["acts"][l], e64["acts"][l])
            check("vector", f"{position}.mean_diff.{l}", e32["mean_diff"][l], e64["mean_diff"][l])
            check("vector", f"{position}.pca.{l}", e32["pca"][l], e64["pca"][l])
            ej["acts"][str(l)] = arr(e32["acts"][l], f64=True)  # float32 values, held as float64 rows
            ej["mean_diff"][str(l)] = arr(e32["mean_diff"][l], f64=True)
            ej["pca"][str(l)] = arr(e32["pca"][l], f64=True)
            ej["pca_gap"][str(l)] = e32["gap"][l]
        extract_j[position] = ej

    # Steering vectors for 2-4: the float32 'last' mean differences (a SteeringVector holds f32).
    vectors = {l: ex32["last"]["mean_diff"][l].to(torch.float32) for l in LAYERS}
    lora_init = make_lora_init(cfg, torch.Generator().manual_seed(777))

    r32 = steering_and_step(m32, benign, lora_init, vectors, torch.float32)
    r64 = steering_and_step(m64, benign, lora_init, vectors, torch.float64)
    mask = r32["mask"]
    check("logits", "steer.logits", r32["steered_logits"], r64["steered_logits"], mask[:, :, None].expand_as(r32["steered_logits"]))
    check("loss", "steer.loss", r32["loss"], r64["loss"])
    s32, s64 = r32["step"], r64["step"]
    check("loss", "step.loss", s32["loss"], s64["loss"])
    check("grad_norm", "step.grad_norm", s32["grad_norm"], s64["grad_norm"])
    for k in s32["grads"]:
        check("grads", f"step.grads.{k}", s32["grads"][k], s64["grads"][k])
    for k in r32["step_after"]:
        check("weights", f"step.after.{k}", r32["step_after"][k], r64["step_after"][k])
    for s in range(TRAIN_STEPS):
        check("loss", f"train.loss.{s}", r32["train"][s]["loss"], r64["train"][s]["loss"])
    for k in r32["train_after"]:
        check("train_weights", f"train.after.{k}", r32["train_after"][k], r64["train_after"][k])

    print("  self-check (f32 vs f64), worst fraction of the quarter tolerance per kind:")
    check.report()

    # Update sizes relative to the tolerance: how much of the step the weight checks can see.
    init_flat = {f"{p}.lora_{x}": t for p, (a, b) in lora_init.items() for x, t in (("A", a), ("B", b))}
    upd = torch.cat([(r32["train_after"][k] - init_flat[k]).flatten().abs() for k in init_flat])
    golden = {
        "note": "written by reference/kts_ref.py; see reference/goldens/kts/README.md",
        "torch": torch.__version__,
        "model": "../llama/mha_f32",
        "model_sha256": sha,
        "extract": {
            "layers": LAYERS,
            "batch_size": EXTRACT_BATCH,
            "pairs": [{"positive": p["positive"], "negative": p["negative"], "answer_from": p["answer_from"]} for p in pairs],
            "last": extract_j["last"],
            "answer_mean": extract_j["answer-mean"],
        },
        "steer": {
            "benign": benign,
            "layers": LAYERS,
            "vectors": {str(l): f32_list(vectors[l]) for l in LAYERS},
            "coeffs": STEP_COEFFS,
            "logits": arr(r32["steered_logits"]),
            "loss": float(r32["loss"]),
        },
        "lora": {
            "rank": RANK, "alpha": ALPHA, "targets": TARGETS,
            "init": {k: arr(t) for k, t in init_flat.items()},
        },
        "step": {
            "coeffs": STEP_COEFFS, "lr": LR, "weight_decay": 0.0, "max_grad_norm": MAX_GRAD_NORM,
            "loss": float(s32["loss"]),
            "grad_norm": float(s32["grad_norm"]),
            "grads": {k: arr(v) for k, v in s32["grads"].items()},
            "after": {k: arr(v) for k, v in r32["step_after"].items()},
        },
        "train": {
            "steps": TRAIN_STEPS, "seed": TRAIN_SEED, "coeff": TRAIN_COEFF, "prob": TRAIN_PROB,
            "batch_size": len(benign), "lr": LR, "max_grad_norm": MAX_GRAD_NORM,
            "coeffs": TRAIN_DRAWN,
            "lrs": [s["lr"] for s in r32["train"]],
            "losses": [float(s["loss"]) for s in r32["train"]],
            "grad_norms": [float(s["grad_norm"]) for s in r32["train"]],
            "after": {k: arr(v) for k, v in r32["train_after"].items()},
        },
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "kts.json")
    with open(path + ".tmp", "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".tmp", path)

    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
    print(f"  steered loss {float(r32['loss']):.6f}; step loss {float(s32['loss']):.6f}, grad norm {float(s32['grad_norm']):.4f} (clip at {MAX_GRAD_NORM})")
    print(f"  train losses {[round(float(s['loss']), 6) for s in r32['train']]}, grad norms {[round(float(s['grad_norm']), 4) for s in r32['train']]}, lrs {[s['lr'] for s in r32['train']]}")
    print(f"  PCA eigengaps (s2/s1)^2: " + ", ".join(f"{pos} L{l} {extract_j[pos]['pca_gap'][str(l)]:.3f}" for pos in extract_j for l in LAYERS))
    print(f"  train updates |after - init|: min {float(upd.min()):.3g}, median {float(upd.median()):.3g}, max {float(upd.max()):.3g}")


if __name__ == "__main__":
    sys.exit(main())
