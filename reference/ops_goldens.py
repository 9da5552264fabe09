#!/usr/bin/python3
"""PyTorch golden references for the @kts/tensor ops.

Run:  /usr/bin/python3 reference/ops_goldens.py
Writes reference/goldens/ops.json (see reference/README.md for the format).

Every case is computed in float32 (the golden) and again in float64.  The
float64 run is a self-check of the tolerance: the generator refuses to write
the file unless the float32 golden is within (rtol/4, atol/4) of the float64
result for the output and every gradient, i.e. an independent, correct float32
implementation (different summation order etc.) passes with a 2x margin.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
GEN = torch.Generator().manual_seed(1234)

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens", "ops.json")

# Tolerance classes (see README.md, "Tolerances").
ELEM = dict(rtol=1e-5, atol=1e-6)   # elementwise maps, views, indexing: only per-element rounding
RED = dict(rtol=1e-5, atol=1e-5)    # reductions / matmul / softmax / norms: summation order differs
LOOSE = dict(rtol=1e-4, atol=1e-5)  # large-offset inputs (~200): intermediates rounded at that magnitude
GELU = dict(rtol=1e-5, atol=3e-6)   # gelu: erf / tanh-polynomial approximations differ between libraries

CASES = []
NAMES = set()
FAILURES = []
MARGINS = []  # (max err / (tol/4), where) for the report


# ----------------------------------------------------------------------------
# random data helpers (all draw from the single seeded generator GEN)
# ----------------------------------------------------------------------------
def randn(*shape, scale=1.0):
    return torch.randn(shape, generator=GEN) * scale


def rand(*shape, lo=0.0, hi=1.0):
    return torch.rand(shape, generator=GEN) * (hi - lo) + lo


def positive(*shape, lo=0.3, hi=2.5):
    return rand(*shape, lo=lo, hi=hi)


def away0(*shape, margin=0.2):
    """randn values pushed away from 0 (for abs/relu/div kinks and poles)."""
    x = randn(*shape)
    return torch.sign(x) * (x.abs() + margin)


def ints(*shape, lo, hi):
    return torch.randint(lo, hi, shape, generator=GEN, dtype=torch.int64)


# ----------------------------------------------------------------------------
# encoding
# ----------------------------------------------------------------------------
def enc_f32(v):
    """Shortest decimal that, parsed as a double and rounded to f32 (what JS
    JSON.parse + Float32Array do), gives back exactly the f32 value v."""
    v = np.float32(v)
    if not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    d = float(str(v))
    if np.float32(d) != v or (v == 0 and math.copysign(1, d) != math.copysign(1, float(v))):
        d = float(v)  # full precision fallback (exact)
    assert np.float32(d) == v
    return d


def enc_tensor(t, as_int=False):
    t = t.detach().contiguous()
    if as_int:
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [enc_f32(v) for v in t.to(torch.float32).reshape(-1).numpy()]
    return {"shape": list(t.shape), "data": data}


def is_int(t):
    return t.dtype in (torch.int32, torch.int64, torch.bool)


# ----------------------------------------------------------------------------
# views
# ----------------------------------------------------------------------------
def apply_view(t, view):
    if view is None:
        return t
    (kind, arg), = view.items()
    if kind == "transpose":
        return t.transpose(arg[0], arg[1])
    if kind == "permute":
        return t.permute(*arg)
    if kind == "slice":
        axis, start, end, step = arg
        idx = [slice(None)] * t.dim()
        idx[axis] = slice(start, end, step)
        return t[tuple(idx)]
    if kind == "expand":
        return t.expand(*arg)
    raise ValueError(kind)


class In:
    """One op argument: base tensor (+ optional view), dtype, requires grad."""

    def __init__(self, data, view=None, grad=None, dtype=None):
        if dtype is None:
            dtype = "int32" if is_int(data) else "float32"
        self.dtype = dtype
        if dtype == "float32":
            self.data = data.to(torch.float32)
        else:
            self.data = data.to(torch.int64)
        self.view = view
        self.grad = (dtype == "float32") if grad is None else grad


# ----------------------------------------------------------------------------
# case runner
# ----------------------------------------------------------------------------
def run(fn, ins, w, ftype):
    bases, args = [], []
    for i in ins:
        if i.dtype == "float32":
            b = i.data.to(ftype).clone().requires_grad_(i.grad)
        else:
            b = i.data.clone()
        bases.append(b)
        args.append(apply_view(b, i.view))
    out = fn(*args)
    grads = [None] * len(ins)
    if w is not None:
        loss = (out * w.to(ftype)).sum()
        loss.backward()
        for k, (i, b) in enumerate(zip(ins, bases)):
            if i.grad:
                assert b.grad is not None, "input marked grad=True is not used differentiably"
                grads[k] = b.grad
    return out.detach(), grads


def check_close(name, what, exact, golden, rtol, atol):
    exact = exact.to(torch.float64)
    golden = golden.to(torch.float64)
    fin = torch.isfinite(golden)
    assert torch.equal(fin, torch.isfinite(exact)), f"{name}/{what}: finiteness differs"
    assert torch.equal(golden[~fin], exact[~fin]), f"{name}/{what}: infinities differ"
    err = (exact[fin] - golden[fin]).abs()
    lim = atol / 4 + rtol / 4 * golden[fin].abs()
    if err.numel():
        MARGINS.append((float((err / lim).max()), f"{name}/{what}"))
    if err.numel() and not bool((err <= lim).all()):
        worst = float((err - lim).max())
        FAILURES.append(
            f"{name}/{what}: f32 golden vs f64 exceeds tol/4 (max err {float(err.max()):.3g}, "
            f"over by {worst:.3g}); loosen the tolerance class or recondition the inputs")


def case(name, op, attrs, ins, fn, tol=None, diff=True, note=None):
    assert name not in NAMES, name
    NAMES.add(name)
    if tol is None:
        # Gradients of broadcast/expanded inputs are sums over the broadcast axes.
        tol = RED if ("bcast" in name or "expand" in name) else ELEM
    if not isinstance(ins, (list, tuple)):
        ins = [ins]
    diff = diff and any(i.grad for i in ins)
    if not diff:
        for i in ins:
            i.grad = False
    # probe output shape to draw the loss weight
    out32, _ = run(fn, ins, None, torch.float32)
    w = randn(*out32.shape) if diff and not is_int(out32) else None
    out32, g32 = run(fn, ins, w, torch.float32)
    out_int = is_int(out32)
    rec = {"name": name, "op": op, "attrs": attrs, "inputs": []}
    if note:
        rec["note"] = note
    for i in ins:
        e = enc_tensor(i.data, as_int=(i.dtype == "int32"))
        rec["inputs"].append({"shape": e["shape"], "dtype": i.dtype, "data": e["data"],
                              "view": i.view, "grad": bool(i.grad)})
    o = enc_tensor(out32, as_int=out_int)
    o["dtype"] = "int32" if out_int else "float32"
    rec["output"] = o
    rec["weight"] = enc_tensor(w) if w is not None else None
    rec["grads"] = [enc_tensor(g) if g is not None else None for g in g32]
    rec["rtol"], rec["atol"] = tol["rtol"], tol["atol"]

    # self-check against float64
    out64, g64 = run(fn, ins, w, torch.float64)
    if out_int:
        assert torch.equal(out64.to(torch.int64), out32.to(torch.int64)), name
    else:
        check_close(name, "output", out64, out32, **tol)
    for k, (a, b) in enumerate(zip(g64, g32)):
        if b is not None:
            check_close(name, f"grad{k}", a, b, **tol)
    CASES.append(rec)


# ============================================================================
# Elementwise unary
# ============================================================================
def unary_cases():
    spec = {
        "neg": (lambda x: -x, lambda *s: randn(*s)),
        "exp": (torch.exp, lambda *s: randn(*s, scale=1.5)),
        "log": (torch.log, lambda *s: positive(*s, lo=0.2, hi=4.0)),
        "sqrt": (torch.sqrt, lambda *s: positive(*s, lo=0.2, hi=4.0)),
        "rsqrt": (torch.rsqrt, lambda *s: positive(*s, lo=0.2, hi=4.0)),
        "abs": (torch.abs, lambda *s: away0(*s)),
        "sigmoid": (torch.sigmoid, lambda *s: randn(*s, scale=2.0)),
        "silu": (F.silu, lambda *s: randn(*s, scale=2.0)),
        "tanh": (torch.tanh, lambda *s: randn(*s, scale=1.5)),
        "relu": (F.relu, lambda *s: away0(*s)),
        "square": (torch.square, lambda *s: randn(*s)),
    }
    for op, (fn, gen) in spec.items():
        case(f"{op}_3x4", op, {}, In(gen(3, 4)), fn)
        case(f"{op}_transposed", op, {}, In(gen(4, 2, 3), view={"transpose": [0, 2]}), fn)
        case(f"{op}_sliced_step2", op, {}, In(gen(3, 7), view={"slice": [1, 1, 7, 2]}), fn)
    case("exp_scalar_shape", "exp", {}, In(randn()), torch.exp)
    case("tanh_permuted", "tanh", {}, In(randn(2, 3, 4), view={"permute": [2, 0, 1]}), torch.tanh)
    case("sigmoid_large_magnitude", "sigmoid", {}, In(randn(2, 6, scale=12.0)), torch.sigmoid)
    case("exp_expanded", "exp", {}, In(randn(3, 1), view={"expand": [3, 4]}), torch.exp,
         note="input is a stride-0 broadcast view; grad sums over the expanded axis")

    for approx in ("none", "tanh"):
        fn = lambda x, a=approx: F.gelu(x, approximate=a)
        case(f"gelu_{approx}", "gelu", {"approximate": approx}, In(randn(3, 5, scale=2.0)), fn, tol=GELU)
        case(f"gelu_{approx}_transposed", "gelu", {"approximate": approx},
             In(randn(5, 3, scale=2.0), view={"transpose": [0, 1]}), fn, tol=GELU)
    case("gelu_default", "gelu", {}, In(randn(4, 4, scale=2.0)), F.gelu, tol=GELU,
         note="no approximate argument: default is 'none' (erf)")


# ============================================================================
# Elementwise binary (broadcasting, scalars, non-contiguous)
# ============================================================================
def binary_cases():
    spec = {
        "add": (torch.add, randn, randn),
        "sub": (torch.sub, randn, randn),
        "mul": (torch.mul, randn, randn),
        "div": (torch.div, randn, away0),
        "maximum": (torch.maximum, randn, randn),
        "minimum": (torch.minimum, randn, randn),
    }
    for op, (fn, ga, gb) in spec.items():
        case(f"{op}_same_shape", op, {}, [In(ga(3, 4)), In(gb(3, 4))], fn)
        case(f"{op}_bcast_315_41", op, {}, [In(ga(3, 1, 5)), In(gb(4, 1))], fn)
        case(f"{op}_bcast_scalar_tensor", op, {}, [In(ga(3, 4)), In(gb())], fn)
        case(f"{op}_bcast_scalar_tensor_left", op, {}, [In(ga()), In(gb(2, 3))], fn)
        case(f"{op}_bcast_14_31", op, {}, [In(ga(1, 4)), In(gb(3, 1))], fn)
        case(f"{op}_bcast_rank", op, {}, [In(ga(2, 3, 4)), In(gb(4))], fn)
        case(f"{op}_noncontig", op, {},
             [In(ga(4, 3), view={"transpose": [0, 1]}), In(gb(3, 8), view={"slice": [1, 0, 8, 2]})], fn)

    case("add_permuted_bcast", "add", {},
         [In(randn(4, 2, 3), view={"permute": [1, 2, 0]}), In(randn(3, 1))], torch.add)
    case("mul_same_base_twice_shape", "mul", {}, [In(randn(2, 5)), In(randn(1, 5))], torch.mul)

    # python-number operand
    for op, fn, v, gen in [("add", torch.add, 2.5, randn), ("sub", torch.sub, 1.5, randn),
                           ("mul", torch.mul, -2.0, randn), ("div", torch.div, 4.0, randn),
                           ("maximum", None, 0.25, randn), ("minimum", None, -0.25, randn)]:
        if fn is None:
            f = (lambda x, v=v: torch.clamp(x, min=v)) if op == "maximum" else (lambda x, v=v: torch.clamp(x, max=v))
        else:
            f = lambda x, fn=fn, v=v: fn(x, v)
        case(f"{op}_number", op, {"other": v}, In(gen(3, 4)), f,
             note="other operand is a plain number (attrs.other)")

    # pow: tensor exponent and number exponent
    case("pow_tensor_exponent", "pow", {}, [In(positive(3, 4)), In(randn(3, 4))], torch.pow)
    case("pow_tensor_exponent_bcast", "pow", {}, [In(positive(2, 3, 4)), In(randn(4))], torch.pow)
    case("pow_tensor_exponent_scalar_tensor", "pow", {}, [In(positive(3, 4)), In(torch.tensor(1.7))], torch.pow)
    case("pow_tensor_exponent_transposed", "pow", {},
         [In(positive(4, 3), view={"transpose": [0, 1]}), In(randn(3, 4))], torch.pow)
    for v in (2.0, 0.5, -1.5, 2.5, 3.0):
        case(f"pow_number_{str(v).replace('.', 'p').replace('-', 'm')}", "pow", {"other": v},
             In(positive(3, 4)), lambda x, v=v: torch.pow(x, v))
    case("pow_number_2_negative_base", "pow", {"other": 2.0}, In(away0(3, 4)), lambda x: torch.pow(x, 2.0),
         note="integer exponent on negative bases (PyTorch: well defined, no NaN)")
    case("pow_number_3_negative_base", "pow", {"other": 3.0}, In(away0(3, 4)), lambda x: torch.pow(x, 3.0),
         note="integer exponent on negative bases (PyTorch: well defined, no NaN)")

    # int32 arithmetic (no grads): result stays int32
    for op, fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul)]:
        case(f"{op}_int32", op, {}, [In(ints(3, 4, lo=-5, hi=6), dtype="int32"),
                                     In(ints(4, lo=-5, hi=6), dtype="int32")],
             lambda a, b, fn=fn: fn(a, b).to(torch.int32), diff=False)


def comparison_cases():
    # Integer-valued floats so eq/le/ge hit exact ties.  Result: same dtype, 0/1.
    fns = {"lt": torch.lt, "gt": torch.gt, "le": torch.le, "ge": torch.ge, "eq": torch.eq}
    for op, fn in fns.items():
        f = lambda a, b, fn=fn: fn(a, b).to(a.dtype)
        case(f"{op}_same_shape", op, {}, [In(ints(3, 4, lo=-2, hi=3).float()), In(ints(3, 4, lo=-2, hi=3).float())],
             f, diff=False)
        case(f"{op}_bcast", op, {}, [In(ints(3, 1, 4, lo=-2, hi=3).float()), In(ints(2, 1, lo=-2, hi=3).float())],
             f, diff=False)
        case(f"{op}_number", op, {"other": 0.0}, In(ints(3, 4, lo=-2, hi=3).float()),
             lambda a, fn=fn: fn(a, 0.0).to(a.dtype), diff=False)
        case(f"{op}_int32", op, {}, [In(ints(3, 4, lo=-2, hi=3), dtype="int32"),
                                     In(ints(3, 4, lo=-2, hi=3), dtype="int32")],
             lambda a, b, fn=fn: fn(a, b).to(torch.int32), diff=False)
    case("gt_transposed", "gt", {}, [In(randn(4, 3), view={"transpose": [0, 1]}), In(randn(3, 4))],
         lambda a, b: torch.gt(a, b).to(a.dtype), diff=False)


# ============================================================================
# matmul
# ============================================================================
def matmul_cases():
    mm = torch.matmul
    case("matmul_1d_1d", "matmul", {}, [In(randn(5)), In(randn(5))], mm, tol=RED)
    case("matmul_2d", "matmul", {}, [In(randn(3, 4)), In(randn(4, 5))], mm, tol=RED)
    case("matmul_2d_transposed_both", "matmul", {},
         [In(randn(4, 3), view={"transpose": [0, 1]}), In(randn(5, 4), view={"transpose": [0, 1]})], mm, tol=RED)
    case("matmul_2d_transposed_rhs", "matmul", {},
         [In(randn(3, 6)), In(randn(5, 6), view={"transpose": [0, 1]})], mm, tol=RED,
         note="x @ W.T, the Linear layer pattern")
    case("matmul_2d_sliced", "matmul", {},
         [In(randn(3, 8), view={"slice": [1, 0, 8, 2]}), In(randn(6, 5), view={"slice": [0, 1, 5, 1]})], mm, tol=RED)
    case("matmul_batched", "matmul", {}, [In(randn(2, 3, 4)), In(randn(2, 4, 5))], mm, tol=RED)
    case("matmul_batched_broadcast", "matmul", {}, [In(randn(2, 1, 3, 4)), In(randn(5, 4, 6))], mm, tol=RED)
    case("matmul_batched_broadcast_size1", "matmul", {}, [In(randn(1, 3, 4)), In(randn(3, 4, 2))], mm, tol=RED)
    case("matmul_batched_2d_rhs", "matmul", {}, [In(randn(2, 3, 4)), In(randn(4, 5))], mm, tol=RED)
    case("matmul_2d_batched_rhs", "matmul", {}, [In(randn(3, 4)), In(randn(2, 4, 5))], mm, tol=RED)
    case("matmul_vec_mat", "matmul", {}, [In(randn(4)), In(randn(4, 5))], mm, tol=RED)
    case("matmul_mat_vec", "matmul", {}, [In(randn(3, 4)), In(randn(4))], mm, tol=RED)
    case("matmul_vec_batched", "matmul", {}, [In(randn(4)), In(randn(2, 4, 5))], mm, tol=RED)
    case("matmul_batched_vec", "matmul", {}, [In(randn(2, 3, 4)), In(randn(4))], mm, tol=RED)
    case("matmul_batched_transposed_rhs", "matmul", {},
         [In(randn(2, 3, 4)), In(randn(2, 5, 4), view={"transpose": [-1, -2]})], mm, tol=RED,
         note="q @ k^T pattern")
    case("matmul_batched_permuted", "matmul", {},
         [In(randn(3, 2, 4), view={"permute": [1, 0, 2]}), In(randn(2, 4, 3))], mm, tol=RED)
    case("matmul_4d_attention", "matmul", {},
         [In(randn(2, 2, 3, 4)), In(randn(2, 2, 4, 3))], mm, tol=RED)


# ============================================================================
# reductions
# ============================================================================
def reduction_cases():
    def red(op, x, axes, keepdim):
        dims = None if axes is None else ([axes] if isinstance(axes, int) else list(axes))
        if op == "sum":
            return x.sum() if dims is None else x.sum(dim=dims, keepdim=keepdim)
        if op == "mean":
            return x.mean() if dims is None else x.mean(dim=dims, keepdim=keepdim)
        if op == "max":
            return x.amax() if dims is None else x.amax(dim=dims, keepdim=keepdim)
        if op == "min":
            return x.amin() if dims is None else x.amin(dim=dims, keepdim=keepdim)
        raise ValueError(op)

    variants = [
        ("axis1", 1, False), ("axis1_keepdim", 1, True), ("axis0_list", [0], False),
        ("axis_neg1", -1, False), ("axis_neg1_keepdim", -1, True),
        ("axes_0_2", [0, 2], False), ("axes_0_2_keepdim", [0, 2], True), ("axes_neg1_0", [-1, 0], False),
        ("all", None, False), ("all_explicit_keepdim", [0, 1, 2], True),
    ]
    for op in ("sum", "mean", "max", "min"):
        for vname, axes, keepdim in variants:
            attrs = {} if axes is None else {"axes": axes, "keepdim": keepdim}
            case(f"{op}_{vname}", op, attrs, In(randn(3, 4, 5)),
                 lambda x, op=op, a=axes, k=keepdim: red(op, x, a, k), tol=RED)
        case(f"{op}_transposed_axis1", op, {"axes": 1, "keepdim": False},
             In(randn(5, 4, 3), view={"transpose": [0, 2]}), lambda x, op=op: red(op, x, 1, False), tol=RED)
        case(f"{op}_sliced_all", op, {}, In(randn(4, 9), view={"slice": [1, 1, 9, 3]}),
             lambda x, op=op: red(op, x, None, False), tol=RED)
        case(f"{op}_2d_axis0", op, {"axes": 0, "keepdim": False}, In(randn(6, 3)),
             lambda x, op=op: red(op, x, 0, False), tol=RED)

    # argmax (int32 out, no grads)
    for name, axis, keepdim, x in [("axis1", 1, False, randn(3, 4, 5)), ("axis_neg1_keepdim", -1, True, randn(3, 4, 5)),
                                   ("axis0", 0, False, randn(4, 3)),
                                   ("transposed", 1, False, None)]:
        if x is None:
            ins = In(randn(5, 3), view={"transpose": [0, 1]})
        else:
            ins = In(x)
        case(f"argmax_{name}", "argmax", {"axis": axis, "keepdim": keepdim}, ins,
             lambda t, a=axis, k=keepdim: torch.argmax(t, dim=a, keepdim=k).to(torch.int32), diff=False)

    # softmax / logSoftmax
    for op, fn in (("softmax", torch.softmax), ("logSoftmax", torch.log_softmax)):
        for axis in (-1, 0, 1):
            case(f"{op}_axis{axis}".replace("-", "neg"), op, {"axis": axis}, In(randn(3, 4, 5, scale=2.0)),
                 lambda x, a=axis, fn=fn: fn(x, a), tol=RED)
        case(f"{op}_transposed", op, {"axis": -1}, In(randn(5, 3), view={"transpose": [0, 1]}),
             lambda x, fn=fn: fn(x, -1), tol=RED)
        case(f"{op}_large_logits", op, {"axis": -1}, In(randn(3, 6, scale=5.0) + 200.0),
             lambda x, fn=fn: fn(x, -1), tol=LOOSE,
             note="logits around 200: naive exp overflows f32, needs max-subtraction")
        # -inf entries (attention-mask pattern); row 0 has only its first entry finite
        x = randn(4, 4, scale=2.0)
        x = x.masked_fill(torch.triu(torch.ones(4, 4, dtype=torch.bool), 1), float("-inf"))
        case(f"{op}_masked_neg_inf", op, {"axis": -1}, In(x), lambda t, fn=fn: fn(t, -1), tol=RED,
             note="causal -Infinity entries in the input (softmax: their grads are 0; "
                  "logSoftmax: outputs -Infinity there, grads are w)")

    # logsumexp
    for name, axes, keepdim in [("axis_neg1", -1, False), ("axis1_keepdim", 1, True), ("axes_0_2", [0, 2], False),
                                ("all", [0, 1, 2], False)]:
        case(f"logsumexp_{name}", "logsumexp", {"axes": axes, "keepdim": keepdim}, In(randn(3, 4, 5, scale=2.0)),
             lambda x, a=axes, k=keepdim: torch.logsumexp(x, dim=a, keepdim=k), tol=RED)
    case("logsumexp_large", "logsumexp", {"axes": -1, "keepdim": False}, In(randn(3, 6, scale=5.0) + 200.0),
         lambda x: torch.logsumexp(x, dim=-1), tol=LOOSE,
         note="values around 200: needs max-subtraction; output ~200 so rtol dominates")
    case("logsumexp_transposed", "logsumexp", {"axes": 0, "keepdim": False},
         In(randn(5, 3), view={"transpose": [0, 1]}), lambda x: torch.logsumexp(x, dim=0), tol=RED)

    # var: unbiased (Bessel, divide by N-1) = torch default
    for name, axes, keepdim in [("axis_neg1", -1, False), ("axis1_keepdim", 1, True), ("axes_0_2", [0, 2], False),
                                ("all", [0, 1, 2], False)]:
        case(f"var_{name}", "var", {"axes": axes, "keepdim": keepdim}, In(randn(3, 4, 5)),
             lambda x, a=axes, k=keepdim: torch.var(x, dim=a, keepdim=k, unbiased=True), tol=RED,
             note="unbiased (divides by N-1), the torch default")
    case("var_transposed", "var", {"axes": 1, "keepdim": False}, In(randn(6, 3), view={"transpose": [0, 1]}),
         lambda x: torch.var(x, dim=1, unbiased=True), tol=RED, note="unbiased (divides by N-1)")
    case("var_offset_mean", "var", {"axes": -1, "keepdim": False}, In(randn(3, 8) + 10.0),
         lambda x: torch.var(x, dim=-1, unbiased=True), tol=RED,
         note="mean ~10: catastrophic cancellation for E[x^2]-E[x]^2; use two-pass")


# ============================================================================
# views and shape ops
# ============================================================================
def view_cases():
    case("reshape_2d", "reshape", {"shape": [6, 10]}, In(randn(3, 4, 5)), lambda x: x.reshape(6, 10))
    case("reshape_infer", "reshape", {"shape": [-1, 5]}, In(randn(3, 4, 5)), lambda x: x.reshape(-1, 5))
    case("reshape_to_scalar", "reshape", {"shape": []}, In(randn(1, 1)), lambda x: x.reshape([]))
    case("reshape_noncontig", "reshape", {"shape": [12]}, In(randn(4, 3), view={"transpose": [0, 1]}),
         lambda x: x.reshape(12), note="transposed input: reshape must copy in logical order")
    case("view_2d", "view", {"shape": [12, 5]}, In(randn(3, 4, 5)), lambda x: x.view(12, 5))
    case("view_infer", "view", {"shape": [2, -1]}, In(randn(4, 3)), lambda x: x.view(2, -1))
    case("transpose_0_2", "transpose", {"a": 0, "b": 2}, In(randn(2, 3, 4)), lambda x: x.transpose(0, 2))
    case("transpose_neg", "transpose", {"a": -1, "b": -2}, In(randn(2, 3, 4)), lambda x: x.transpose(-1, -2))
    case("T_2d", "T", {}, In(randn(3, 5)), lambda x: x.t())
    case("permute_201", "permute", {"dims": [2, 0, 1]}, In(randn(2, 3, 4)), lambda x: x.permute(2, 0, 1))
    case("permute_4d", "permute", {"dims": [0, 2, 1, 3]}, In(randn(2, 3, 2, 4)), lambda x: x.permute(0, 2, 1, 3),
         note="[B,T,H,D] -> [B,H,T,D] head split pattern")
    case("contiguous_transposed", "contiguous", {}, In(randn(3, 4), view={"transpose": [0, 1]}),
         lambda x: x.contiguous())
    case("expand_middle", "expand", {"shape": [3, 4, 5]}, In(randn(3, 1, 5)), lambda x: x.expand(3, 4, 5))
    case("expand_keep_neg1", "expand", {"shape": [-1, 4, -1]}, In(randn(3, 1, 5)), lambda x: x.expand(-1, 4, -1))
    case("expand_new_leading", "expand", {"shape": [2, 3, 4]}, In(randn(3, 1)), lambda x: x.expand(2, 3, 4))
    case("squeeze_axis1", "squeeze", {"axis": 1}, In(randn(3, 1, 5, 1)), lambda x: x.squeeze(1))
    case("squeeze_neg1", "squeeze", {"axis": -1}, In(randn(3, 1, 5, 1)), lambda x: x.squeeze(-1))
    case("squeeze_all", "squeeze", {}, In(randn(3, 1, 5, 1)), lambda x: x.squeeze())
    case("unsqueeze_0", "unsqueeze", {"axis": 0}, In(randn(3, 4)), lambda x: x.unsqueeze(0))
    case("unsqueeze_2", "unsqueeze", {"axis": 2}, In(randn(3, 4)), lambda x: x.unsqueeze(2))
    case("unsqueeze_neg1", "unsqueeze", {"axis": -1}, In(randn(3, 4)), lambda x: x.unsqueeze(-1),
         note="-1 means a new last axis (ndim+1+axis), as in torch")
    case("narrow_axis1", "narrow", {"axis": 1, "start": 1, "length": 2}, In(randn(3, 4, 5)),
         lambda x: x.narrow(1, 1, 2))
    case("narrow_neg_axis", "narrow", {"axis": -1, "start": 2, "length": 3}, In(randn(3, 5)),
         lambda x: x.narrow(-1, 2, 3))
    case("slice_axis0", "slice", {"axis": 0, "start": 1, "end": 3, "step": 1}, In(randn(4, 3)), lambda x: x[1:3])
    case("slice_step2", "slice", {"axis": 1, "start": 1, "end": 6, "step": 2}, In(randn(3, 7)),
         lambda x: x[:, 1:6:2])
    case("slice_step3_neg_axis", "slice", {"axis": -1, "start": 0, "end": 7, "step": 3}, In(randn(2, 3, 7)),
         lambda x: x[..., 0:7:3])
    case("slice_default_step", "slice", {"axis": 1, "start": 2, "end": 4}, In(randn(3, 5)), lambda x: x[:, 2:4],
         note="step omitted: default 1")
    case("slice_of_transposed", "slice", {"axis": 0, "start": 0, "end": 5, "step": 2},
         In(randn(3, 5), view={"transpose": [0, 1]}), lambda x: x[0:5:2])
    case("flatten_all", "flatten", {}, In(randn(2, 3, 4)), lambda x: x.flatten())
    case("flatten_from1", "flatten", {"start": 1}, In(randn(2, 3, 4)), lambda x: x.flatten(1))
    case("flatten_0_1", "flatten", {"start": 0, "end": 1}, In(randn(2, 3, 4)), lambda x: x.flatten(0, 1))
    case("flatten_1_neg1", "flatten", {"start": 1, "end": -1}, In(randn(2, 3, 2, 2)), lambda x: x.flatten(1, -1))
    case("flatten_transposed", "flatten", {}, In(randn(3, 4), view={"transpose": [0, 1]}), lambda x: x.flatten())


# ============================================================================
# cat / stack / indexing
# ============================================================================
def index_cases():
    case("cat_axis0", "cat", {"axis": 0}, [In(randn(2, 3)), In(randn(1, 3)), In(randn(3, 3))],
         lambda *xs: torch.cat(xs, 0))
    case("cat_axis1", "cat", {"axis": 1}, [In(randn(2, 2, 3)), In(randn(2, 4, 3))], lambda *xs: torch.cat(xs, 1))
    case("cat_axis_neg1_noncontig", "cat", {"axis": -1},
         [In(randn(3, 2), view={"transpose": [0, 1]}), In(randn(2, 1)), In(randn(2, 6), view={"slice": [1, 0, 6, 3]})],
         lambda *xs: torch.cat(xs, -1))
    case("cat_mixed_grad", "cat", {"axis": 0}, [In(randn(2, 3)), In(randn(2, 3), grad=False)],
         lambda *xs: torch.cat(xs, 0), note="second input does not require grad")
    case("stack_axis0", "stack", {"axis": 0}, [In(randn(3, 4)), In(randn(3, 4)), In(randn(3, 4))],
         lambda *xs: torch.stack(xs, 0))
    case("stack_axis1", "stack", {"axis": 1}, [In(randn(3, 4)), In(randn(3, 4))], lambda *xs: torch.stack(xs, 1))
    case("stack_axis_neg1", "stack", {"axis": -1}, [In(randn(2, 3)), In(randn(3, 2), view={"transpose": [0, 1]})],
         lambda *xs: torch.stack(xs, -1), note="-1: new last axis")

    # gather(x, axis, index) -- index int32, same rank as x
    idx = torch.tensor([[0, 0], [3, 1], [2, 2]])
    case("gather_axis1_repeats", "gather", {"axis": 1}, [In(randn(3, 4)), In(idx, dtype="int32")],
         lambda x, i: torch.gather(x, 1, i), note="repeated indices: backward must scatter-ADD")
    case("gather_axis0", "gather", {"axis": 0}, [In(randn(3, 4)), In(ints(2, 4, lo=0, hi=3), dtype="int32")],
         lambda x, i: torch.gather(x, 0, i))
    case("gather_3d_neg_axis", "gather", {"axis": -1},
         [In(randn(2, 3, 5)), In(ints(2, 3, 1, lo=0, hi=5), dtype="int32")], lambda x, i: torch.gather(x, -1, i),
         note="token log-prob pick pattern (index [..., 1])")
    case("gather_transposed", "gather", {"axis": 1},
         [In(randn(4, 3), view={"transpose": [0, 1]}), In(ints(3, 6, lo=0, hi=4), dtype="int32")],
         lambda x, i: torch.gather(x, 1, i))

    case("indexSelect_axis0_repeats", "indexSelect", {"axis": 0},
         [In(randn(5, 3)), In(torch.tensor([4, 0, 4, 2, 4]), dtype="int32")],
         lambda x, i: torch.index_select(x, 0, i))
    case("indexSelect_axis1", "indexSelect", {"axis": 1},
         [In(randn(2, 5, 3)), In(torch.tensor([1, 3, 1]), dtype="int32")], lambda x, i: torch.index_select(x, 1, i))
    case("indexSelect_neg_axis", "indexSelect", {"axis": -1},
         [In(randn(3, 4)), In(torch.tensor([3, 0]), dtype="int32")], lambda x, i: torch.index_select(x, -1, i))

    case("embedding_repeats", "embedding", {},
         [In(randn(10, 4)), In(torch.tensor([[1, 3, 1, 7, 1], [0, 3, 9, 9, 2]]), dtype="int32")],
         lambda w, i: F.embedding(i, w), note="embedding(weight, ids); repeated ids -> scatter-add grads")
    case("embedding_1d", "embedding", {}, [In(randn(6, 3)), In(torch.tensor([5, 0, 5]), dtype="int32")],
         lambda w, i: F.embedding(i, w))

    # where(cond, a, b): cond is 0/1 (nonzero = take a), float32 or int32
    cond = ints(3, 4, lo=0, hi=2)
    case("where_cond_float32", "where", {}, [In(cond.float(), grad=False), In(randn(3, 4)), In(randn(3, 4))],
         lambda c, a, b: torch.where(c != 0, a, b), note="cond float32 0/1 (as returned by comparisons)")
    case("where_cond_int32", "where", {}, [In(cond, dtype="int32"), In(randn(3, 4)), In(randn(3, 4))],
         lambda c, a, b: torch.where(c != 0, a, b), note="cond int32 0/1")
    case("where_bcast", "where", {}, [In(ints(3, 1, lo=0, hi=2).float(), grad=False), In(randn(3, 4)), In(randn())],
         lambda c, a, b: torch.where(c != 0, a, b), note="cond [3,1], a [3,4], b [] broadcast")
    case("where_bcast_ab", "where", {}, [In(ints(2, 3, 4, lo=0, hi=2).float(), grad=False), In(randn(3, 1)), In(randn(4))],
         lambda c, a, b: torch.where(c != 0, a, b))

    # maskedFill(x, mask, value): mask 0/1, nonzero = fill
    m = ints(3, 4, lo=0, hi=2)
    case("maskedFill_float_mask", "maskedFill", {"value": -5.0}, [In(randn(3, 4)), In(m.float(), grad=False)],
         lambda x, mk: x.masked_fill(mk != 0, -5.0))
    case("maskedFill_int_mask_bcast", "maskedFill", {"value": 0.0},
         [In(randn(2, 3, 4)), In(ints(3, 1, lo=0, hi=2), dtype="int32")], lambda x, mk: x.masked_fill(mk != 0, 0.0),
         note="mask [3,1] broadcast against x [2,3,4]")
    case("maskedFill_neg_inf", "maskedFill", {"value": "-Infinity"},
         [In(randn(4, 4)), In(torch.triu(torch.ones(4, 4), 1), grad=False)], lambda x, mk: x.masked_fill(mk != 0, float("-inf")),
         note="value is -Infinity (JSON string); loss is non-finite but grads are finite")

    for op, fn in (("triu", torch.triu), ("tril", torch.tril)):
        for k in (-1, 0, 1):
            case(f"{op}_k{k}".replace("-", "m"), op, {"k": k}, In(randn(4, 5)), lambda x, k=k, fn=fn: fn(x, k))
        case(f"{op}_batched", op, {"k": 0}, In(randn(2, 3, 4)), lambda x, fn=fn: fn(x, 0))
        case(f"{op}_default_k", op, {}, In(randn(3, 3)), lambda x, fn=fn: fn(x), note="k omitted: default 0")

    case("causalMask_5", "causalMask", {"T": 5}, [],
         lambda: torch.zeros(5, 5).masked_fill(torch.triu(torch.ones(5, 5, dtype=torch.bool), 1), float("-inf")),
         diff=False, note="no inputs; [T,T] with 0 on/below diagonal and -Infinity above")


# ============================================================================
# cast
# ============================================================================
def cast_cases():
    x = torch.tensor([[-2.7, -1.5, -0.5, 0.0], [0.4, 1.5, 2.5, 3.99]])
    case("cast_f32_to_int32", "cast", {"dtype": "int32"}, In(x, grad=False),
         lambda t: t.to(torch.int32), diff=False, note="truncation toward zero (torch .to(int32))")
    case("cast_int32_to_f32", "cast", {"dtype": "float32"}, In(ints(3, 4, lo=-9, hi=10), dtype="int32"),
         lambda t: t.to(torch.float32), diff=False)


# ============================================================================
# fused / model ops
# ============================================================================
def rms_norm_hf(x, weight, eps):
    # HF LlamaRMSNorm (the .float() upcast is a no-op for f32 input and is
    # dropped so the same function serves the float64 self-check).
    variance = x.pow(2).mean(-1, keepdim=True)
    h = x * torch.rsqrt(variance + eps)
    return weight * h


def rope_cos_sin(T, D, theta, offset=0):
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2).float() / D))
    t = torch.arange(offset, offset + T).float()
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_hf(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def model_cases():
    for eps in (1e-6, 1e-5):
        case(f"rmsNorm_eps{eps:g}", "rmsNorm", {"eps": eps},
             [In(randn(2, 3, 8)), In(1.0 + 0.1 * randn(8))], lambda x, w, e=eps: rms_norm_hf(x, w, e), tol=RED)
    case("rmsNorm_transposed", "rmsNorm", {"eps": 1e-6},
         [In(randn(8, 4), view={"transpose": [0, 1]}), In(1.0 + 0.1 * randn(8))],
         lambda x, w: rms_norm_hf(x, w, 1e-6), tol=RED)
    case("rmsNorm_small_values", "rmsNorm", {"eps": 1e-5}, [In(randn(3, 6, scale=0.01)), In(1.0 + 0.1 * randn(6))],
         lambda x, w: rms_norm_hf(x, w, 1e-5), tol=dict(rtol=1e-4, atol=1e-4),
         note="mean(x^2) ~ 1e-4 so eps matters; x-grads are O(1/rms) ~ 100, hence atol 1e-4")
    case("rmsNorm_weight_nograd", "rmsNorm", {"eps": 1e-6}, [In(randn(4, 8)), In(1.0 + 0.1 * randn(8), grad=False)],
         lambda x, w: rms_norm_hf(x, w, 1e-6), tol=RED)

    for name, (B, H, T, D), theta, off in [("rotaryEmbedding_b2h3t4d8", (2, 3, 4, 8), 10000.0, 0),
                                           ("rotaryEmbedding_offset_theta5e5", (1, 2, 3, 8), 500000.0, 5),
                                           ("rotaryEmbedding_d4", (1, 1, 6, 4), 10000.0, 0)]:
        cos, sin = rope_cos_sin(T, D, theta, off)
        case(name, "rotaryEmbedding", {}, [In(randn(B, H, T, D)), In(cos, grad=False), In(sin, grad=False)],
             rope_hf, tol=RED,
             note=f"cos/sin [T,D] from HF inv_freq = 1/theta^(arange(0,D,2)/D), emb = cat(freqs,freqs), "
                  f"theta={theta:g}, positions {off}..{off + T - 1}; grads for x only")
    B, T, H, D = 1, 3, 2, 8
    cos, sin = rope_cos_sin(T, D, 10000.0)
    case("rotaryEmbedding_permuted_x", "rotaryEmbedding", {},
         [In(randn(B, T, H, D), view={"permute": [0, 2, 1, 3]}), In(cos, grad=False), In(sin, grad=False)],
         rope_hf, tol=RED, note="x is a [B,T,H,D] -> [B,H,T,D] permuted view")

    # crossEntropy(logits [N,C], targets int32 [N], {ignoreIndex, reduction})
    targets = torch.tensor([2, -100, 0, 4, -100, 1])
    for red in ("mean", "sum", "none"):
        case(f"crossEntropy_ignore_{red}", "crossEntropy", {"ignoreIndex": -100, "reduction": red},
             [In(randn(6, 5, scale=2.0)), In(targets, dtype="int32")],
             lambda l, t, r=red: F.cross_entropy(l, t, ignore_index=-100, reduction=r), tol=RED,
             note="two targets are -100 (ignored); mean divides by the 4 non-ignored")
    case("crossEntropy_no_ignored_mean", "crossEntropy", {"ignoreIndex": -100, "reduction": "mean"},
         [In(randn(4, 7, scale=2.0)), In(torch.tensor([6, 0, 3, 3]), dtype="int32")],
         lambda l, t: F.cross_entropy(l, t, reduction="mean"), tol=RED)
    case("crossEntropy_custom_ignore", "crossEntropy", {"ignoreIndex": 0, "reduction": "mean"},
         [In(randn(5, 4, scale=2.0)), In(torch.tensor([0, 1, 3, 0, 2]), dtype="int32")],
         lambda l, t: F.cross_entropy(l, t, ignore_index=0, reduction="mean"), tol=RED,
         note="ignoreIndex 0 (class 0 never counts)")
    case("crossEntropy_transposed_logits", "crossEntropy", {"ignoreIndex": -100, "reduction": "mean"},
         [In(randn(5, 3, scale=2.0), view={"transpose": [0, 1]}), In(torch.tensor([4, -100, 1]), dtype="int32")],
         lambda l, t: F.cross_entropy(l, t, reduction="mean"), tol=RED)
    case("crossEntropy_large_logits", "crossEntropy", {"ignoreIndex": -100, "reduction": "sum"},
         [In(randn(3, 5, scale=5.0) + 150.0), In(torch.tensor([1, 4, 0]), dtype="int32")],
         lambda l, t: F.cross_entropy(l, t, reduction="sum"), tol=LOOSE,
         note="logits around 150: needs a stable log-softmax")

    # klDiv(input = log-probs, target = probs | log-probs)
    N, C = 4, 6
    for log_target in (False, True):
        for red in ("batchmean", "sum", "mean", "none"):
            inp = torch.log_softmax(randn(N, C, scale=1.5), -1)
            tgt = torch.log_softmax(randn(N, C, scale=1.5), -1)
            if not log_target:
                tgt = tgt.exp()
            case(f"klDiv_{red}_logTarget_{str(log_target).lower()}", "klDiv",
                 {"reduction": red, "logTarget": log_target}, [In(inp), In(tgt, grad=False)],
                 lambda i, t, r=red, lt=log_target: F.kl_div(i, t, reduction=r, log_target=lt), tol=RED,
                 note="F.kl_div(input, target): sum target*(log target - input); grads for input only")
    tgt = torch.softmax(randn(3, 5), -1)
    tgt[0, 1] = 0.0
    tgt[2, 4] = 0.0
    case("klDiv_zero_target_probs", "klDiv", {"reduction": "batchmean", "logTarget": False},
         [In(torch.log_softmax(randn(3, 5), -1)), In(tgt, grad=False)],
         lambda i, t: F.kl_div(i, t, reduction="batchmean"), tol=RED,
         note="target has exact zeros: 0*log(0) must be 0 (xlogy), not NaN")
    case("klDiv_3d_batchmean", "klDiv", {"reduction": "batchmean", "logTarget": True},
         [In(torch.log_softmax(randn(2, 3, 5), -1)), In(torch.log_softmax(randn(2, 3, 5), -1), grad=False)],
         lambda i, t: F.kl_div(i, t, reduction="batchmean", log_target=True), tol=RED,
         note="batchmean divides by size(0) = 2, not by 2*3")


def main():
    unary_cases()
    binary_cases()
    comparison_cases()
    matmul_cases()
    reduction_cases()
    view_cases()
    index_cases()
    cast_cases()
    model_cases()

    if FAILURES:
        print("\n".join(FAILURES), file=sys.stderr)
        sys.exit(f"{len(FAILURES)} tolerance self-check failures; nothing written")

    # JSON with no NaN/Infinity literals (non-finite numbers are strings).
    text = json.dumps({"torch": torch.__version__, "cases": CASES}, allow_nan=False, separators=(",", ":"))
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w") as f:
        f.write(text)
        f.write("\n")
    MARGINS.sort(reverse=True)
    print("tightest self-check margins (err / (tol/4)):", file=sys.stderr)
    for r, where in MARGINS[:12]:
        print(f"  {r:.3f}  {where}", file=sys.stderr)
    ops = {}
    for c in CASES:
        ops.setdefault(c["op"], set()).update(c["attrs"].keys())
    print(f"wrote {OUT_PATH}: {len(CASES)} cases, {len(ops)} ops, {len(text) / 1e6:.2f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
