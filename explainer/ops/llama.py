"""The ops a Llama decoder (SmolLM2) adds (Touvron et al. 2023, §2.2): RMSNorm,
rotary position embeddings (Su et al. 2021), grouped-query attention's repeated
K/V heads (Ainslie et al. 2023) and SwiGLU (Shazeer 2020). Pretrained models
only: no gradients."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explainer import numeric
from explainer.i18n import N_
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.formula import Formula, later, symbols
from explainer.ops.lambdified import Backend
from explainer.ops.spec import OpSpec
from explainer.trace import Op

sp = later("sympy")
sym_gqa = later("explainer.symbolic.gqa")
sym_rms_norm = later("explainer.symbolic.rms_norm")
sym_rope = later("explainer.symbolic.rope")
sym_swiglu = later("explainer.symbolic.swiglu")


def _rms_norm_formula() -> tuple[tuple, object]:
    s = symbols()
    args = (s.x, s.i, s.n, s.gamma, s.eps)
    return args, sym_rms_norm.rms_norm(*args)


def _rope_formula() -> tuple[tuple, object]:
    """The rotated pair (2i, 2i+1)."""
    even, odd, angle = sp.symbols("x_even x_odd theta", real=True)
    turned = sym_rope.rope_pair(even, odd, angle)
    return (even, odd, angle), sp.Tuple(turned[0], turned[1])


def _swiglu_formula() -> tuple[tuple, object]:
    z, up = symbols().z, sp.Symbol("u", real=True)
    return (z, up), sym_swiglu.swiglu(z, up)


RMS_NORM = Formula("rms_norm", _rms_norm_formula)
ROPE_ANGLES = Formula(
    "rope_angles",
    lambda: ((symbols().pos, symbols().z), sym_rope.angle(symbols().pos, symbols().z)),
)
ROPE = Formula("rope", _rope_formula)
REPEAT_KV = Formula(
    "repeat_kv",
    lambda: (
        (sym_gqa.head, sym_gqa.ratio),
        sym_gqa.kv_head(sym_gqa.head, sym_gqa.ratio),
    ),
)
SWIGLU = Formula("swiglu", _swiglu_formula)


def _rms_norm(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    xs, g = inputs
    width = xs.shape[-1]
    f = be.function(RMS_NORM)
    moved = np.moveaxis(be.array(xs), -1, 0)  # (d, ...)
    extra = (1,) * (moved.ndim - 1)
    e = be.number(ctx.eps)
    out = f(moved, np.arange(width), width, be.array(g).reshape(width, *extra), e)
    return np.moveaxis(np.asarray(out), 0, -1)


def _rope_angles(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(ROPE_ANGLES)
    positions = be.array(np.arange(ctx.shape[-2], dtype=np.float64)[:, None])
    return np.asarray(f(positions, be.array(inputs[0])[None, :]))  # (T, d_k/2)


def _rope(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    heads, angles = (be.array(v) for v in inputs)  # (..., h, T, d_k), (T, d_k/2)
    f = be.function(ROPE)
    first, second = f(heads[..., 0::2], heads[..., 1::2], angles)
    out = np.empty_like(heads)
    out[..., 0::2], out[..., 1::2] = first, second
    return out


def _repeat_kv(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    heads = be.array(inputs[0])  # (..., h_kv, T, d)
    ratio = ctx.shape[-3] // heads.shape[-3]
    f = REPEAT_KV.function("numpy")
    source = np.asarray(f(np.arange(ctx.shape[-3]), ratio)).astype(int)
    return np.take(heads, source, axis=-3)  # (..., h, T, d)


def _swiglu(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(SWIGLU)
    return np.asarray(f(be.array(inputs[0]), be.array(inputs[1])))


_T, _D, _F = ex.T, ex.D_MODEL, 2 * ex.D_MODEL
_PAIRS = 2  # a head of width 4: two rotated pairs

SPECS = (
    OpSpec(
        Op.RMS_NORM,
        numeric=lambda a, c: numeric.rms_norm(*a, c.eps),
        formula=RMS_NORM,
        evaluate=_rms_norm,
        gloss=N_("entry i of each row x of length n; no mean, no β"),
        section="rms-norm",
        scene="layer-norm",
        example=lambda r: (
            [ex.normal(r, _T, _D), 1 + 0.1 * ex.normal(r, _D)],
            ex.context(_T, _D),
        ),
    ),
    OpSpec(
        Op.ROPE_ANGLES,
        numeric=lambda a, c: numeric.rope_angles(a[0], c.shape[-2]),
        formula=ROPE_ANGLES,
        evaluate=_rope_angles,
        gloss=N_("position pos, z = ω_i = b^(−2i/d_k) from rope.inv_freq"),
        section="rope-angles",
        scene="rope",
        example=lambda r: ([r.random(_PAIRS)], ex.context(_T, _PAIRS)),
    ),
    OpSpec(
        Op.ROPE,
        numeric=lambda a, c: numeric.rope(*a),
        formula=ROPE,
        evaluate=_rope,
        gloss=N_("the pair (x_2i, x_2i+1) of a query or key, θ = θ_{pos,i}"),
        section="rope",
        scene="rope",
        example=lambda r: (
            [ex.normal(r, ex.N_HEADS, _T, 2 * _PAIRS), ex.normal(r, _T, _PAIRS)],
            ex.context(ex.N_HEADS, _T, 2 * _PAIRS),
        ),
    ),
    OpSpec(
        Op.REPEAT_KV,
        numeric=lambda a, c: numeric.repeat_kv(a[0], c.shape[-3]),
        formula=REPEAT_KV,
        evaluate=_repeat_kv,
        gloss=N_("the K/V head that query head j reads, r query heads per K/V head"),
        section="gqa",
        example=lambda r: (
            [ex.normal(r, 1, _T, ex.D_K)],
            ex.context(ex.N_HEADS, _T, ex.D_K),
        ),
    ),
    OpSpec(
        Op.SWIGLU,
        numeric=lambda a, c: numeric.swiglu(*a),
        formula=SWIGLU,
        evaluate=_swiglu,
        gloss=N_("each entry: z of x W_gate, u of x W_up (SiLU(z)·u)"),
        section="swiglu",
        scene="feed-forward",
        example=lambda r: (
            [ex.normal(r, _T, _F), ex.normal(r, _T, _F)],
            ex.context(_T, _F),
        ),
    ),
)
