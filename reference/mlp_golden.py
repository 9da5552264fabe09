#!/usr/bin/python3
"""PyTorch golden for end-to-end training: a two-layer MLP trained with AdamW.

Run:  /usr/bin/python3 reference/mlp_golden.py
Writes reference/goldens/mlp.json.

Model   Linear(8, 32) -> tanh -> Linear(32, 4)     (PyTorch layout: weight [out, in], bias [out])
Data    N = 64 inputs x ~ N(0, 1) [64, 8]; targets y = teacher(x) + 0.05 * noise [64, 4]
        where teacher is a fixed random tanh MLP (so the task is learnable)
Loss    MSE, mean over all N*4 elements (torch default reduction='mean')
Optim   torch.optim.AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01), full batch,
        50 steps: zero_grad, loss = mse(model(x), y), record loss, backward, step.

Stored: inputs, targets, initial and final state dicts, the 50 pre-update losses, the loss
after the 50th update (final_loss), and the thresholds used by test/tensor/golden-mlp.test.ts.

Self-check: the same run is repeated in float64, and in float32 with the initial weights
perturbed by ~1 ulp, to measure how far a correct float32 implementation can drift from this
golden; the generator refuses to write the file unless that drift is < 1/4 of the tolerances.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens", "mlp.json")

N, D_IN, D_HID, D_OUT = 64, 8, 32, 4
STEPS = 50
LR, BETAS, EPS, WD = 1e-2, (0.9, 0.999), 1e-8, 0.01
LOSS_ATOL = 1e-4        # first LOSS_CHECKED losses, absolute
LOSS_CHECKED = 20
WEIGHT_ATOL = 1e-4      # final weights, absolute
FINAL_LOSS_FACTOR = 1.01


def f32(v):
    """Shortest decimal that round-trips the f32 value through a JS double."""
    v = np.float32(v)
    d = float(str(v))
    if np.float32(d) != v:
        d = float(v)
    return d


def enc(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [f32(v) for v in t.reshape(-1).numpy()]}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D_IN, D_HID)
        self.fc2 = nn.Linear(D_HID, D_OUT)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def make_data():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(N, D_IN, generator=g)
    w1 = torch.randn(16, D_IN, generator=g) / D_IN ** 0.5
    w2 = torch.randn(D_OUT, 16, generator=g) / 16 ** 0.5
    y = torch.tanh(x @ w1.T) @ w2.T + 0.05 * torch.randn(N, D_OUT, generator=g)
    return x, y


def train(init_state, x, y, dtype):
    model = MLP().to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in init_state.items()})
    x, y = x.to(dtype), y.to(dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WD)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    with torch.no_grad():
        final_loss = nn.functional.mse_loss(model(x), y).item()
    return losses, final_loss, {k: v.detach().clone() for k, v in model.state_dict().items()}


def main():
    torch.manual_seed(0)
    x, y = make_data()
    # Default PyTorch init (kaiming-uniform weights, uniform biases), then rounded to what
    # the JSON stores (already f32, so exact).
    init = {k: v.detach().clone() for k, v in MLP().state_dict().items()}

    losses, final_loss, final = train(init, x, y, torch.float32)

    # --- self-check: drift of a different-but-correct implementation ---------------------
    l64, fl64, fin64 = train(init, x, y, torch.float64)
    g = torch.Generator().manual_seed(99)
    pert = {k: v * (1 + 1.2e-7 * torch.randn(v.shape, generator=g)) for k, v in init.items()}
    lp, flp, finp = train(pert, x, y, torch.float32)
    loss_drift = max(max(abs(a - b) for a, b in zip(losses[:LOSS_CHECKED], l64[:LOSS_CHECKED])),
                     max(abs(a - b) for a, b in zip(losses[:LOSS_CHECKED], lp[:LOSS_CHECKED])))
    w_drift = max(max(float((final[k].double() - fin64[k]).abs().max()) for k in final),
                  max(float((final[k] - finp[k]).abs().max()) for k in final))
    print(f"final loss f32 {final_loss:.6g}  f64 {fl64:.6g}  perturbed-f32 {flp:.6g}", file=sys.stderr)
    print(f"max drift: first {LOSS_CHECKED} losses {loss_drift:.3g} (tol {LOSS_ATOL}), "
          f"final weights {w_drift:.3g} (tol {WEIGHT_ATOL})", file=sys.stderr)
    if loss_drift > LOSS_ATOL / 4 or w_drift > WEIGHT_ATOL / 4:
        sys.exit("drift exceeds tolerance/4: not writing mlp.json")
    assert final_loss < losses[0] / 5, "training did not make progress"

    doc = {
        "torch": torch.__version__,
        "model": {"layers": [["fc1", "Linear", D_IN, D_HID], ["act", "tanh"], ["fc2", "Linear", D_HID, D_OUT]]},
        "loss": "mse_mean",
        "optimizer": {"name": "AdamW", "lr": LR, "betas": list(BETAS), "eps": EPS, "weightDecay": WD},
        "steps": STEPS,
        "inputs": enc(x),
        "targets": enc(y),
        "init": {k: enc(v) for k, v in init.items()},
        "losses": [float(v) for v in losses],
        "final_loss": float(final_loss),
        "final": {k: enc(v) for k, v in final.items()},
        "check": {
            "lossAtol": LOSS_ATOL,
            "lossSteps": LOSS_CHECKED,
            "weightAtol": WEIGHT_ATOL,
            "finalLossMax": float(final_loss) * FINAL_LOSS_FACTOR,
        },
    }
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w") as f:
        f.write(text)
        f.write("\n")
    print(f"wrote {OUT_PATH}: losses {losses[0]:.5f} -> {losses[-1]:.5f}, final {final_loss:.5f}, "
          f"threshold {final_loss * FINAL_LOSS_FACTOR:.5f}, {len(text) / 1e3:.1f} kB", file=sys.stderr)


if __name__ == "__main__":
    main()
