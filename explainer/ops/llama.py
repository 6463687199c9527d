"""The ops a Llama decoder (SmolLM2) adds (Touvron et al. 2023, §2.2): RMSNorm,
rotary position embeddings (Su et al. 2021), grouped-query attention's repeated
K/V heads (Ainslie et al. 2023) and SwiGLU (Shazeer 2020). Pretrained models
only: no gradients."""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import numpy as np
import sympy as sp

from explainer import numeric
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.lambdified import Backend, compiled
from explainer.ops.spec import OpSpec
from explainer.symbolic import gqa as sym_gqa
from explainer.symbolic import rms_norm as sym_rms_norm
from explainer.symbolic import rope as sym_rope
from explainer.symbolic import swiglu as sym_swiglu
from explainer.symbolic.symbols import eps, gamma, i, n, pos, x, z
from explainer.trace import Op

_even, _odd, _angle, _up = sp.symbols("x_even x_odd theta u", real=True)
_ROPE = sym_rope.rope_pair(_even, _odd, _angle)  # the rotated pair (2i, 2i+1)

RMS_NORM = sym_rms_norm.rms_norm(x, i, n, gamma, eps)
ROPE_ANGLES = sym_rope.angle(pos, z)
ROPE = sp.Tuple(_ROPE[0], _ROPE[1])
REPEAT_KV = sym_gqa.kv_head(sym_gqa.head, sym_gqa.ratio)
SWIGLU = sym_swiglu.swiglu(z, _up)


def _rms_norm(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    xs, g = inputs
    width = xs.shape[-1]
    f = be.compile((x, i, n, gamma, eps), RMS_NORM)
    moved = np.moveaxis(be.array(xs), -1, 0)  # (d, ...)
    extra = (1,) * (moved.ndim - 1)
    e = ctx.eps if be.name == "numpy" else mpmath.mpf(ctx.eps)
    out = f(moved, np.arange(width), width, be.array(g).reshape(width, *extra), e)
    return np.moveaxis(np.asarray(out), 0, -1)


def _rope_angles(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((pos, z), ROPE_ANGLES)
    positions = be.array(np.arange(ctx.shape[-2], dtype=np.float64)[:, None])
    return np.asarray(f(positions, be.array(inputs[0])[None, :]))  # (T, d_k/2)


def _rope(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    heads, angles = (be.array(v) for v in inputs)  # (..., h, T, d_k), (T, d_k/2)
    f = be.compile((_even, _odd, _angle), ROPE)
    first, second = f(heads[..., 0::2], heads[..., 1::2], angles)
    out = np.empty_like(heads)
    out[..., 0::2], out[..., 1::2] = first, second
    return out


def _repeat_kv(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    heads = be.array(inputs[0])  # (..., h_kv, T, d)
    ratio = ctx.shape[-3] // heads.shape[-3]
    f = compiled("numpy", (sym_gqa.head, sym_gqa.ratio), REPEAT_KV)
    source = np.asarray(f(np.arange(ctx.shape[-3]), ratio)).astype(int)
    return np.take(heads, source, axis=-3)  # (..., h, T, d)


def _swiglu(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((z, _up), SWIGLU)
    return np.asarray(f(be.array(inputs[0]), be.array(inputs[1])))


_T, _D, _F = ex.T, ex.D_MODEL, 2 * ex.D_MODEL
_PAIRS = 2  # a head of width 4: two rotated pairs

SPECS = (
    OpSpec(
        Op.RMS_NORM,
        numeric=lambda a, c: numeric.rms_norm(*a, c.eps),
        formula=RMS_NORM,
        evaluate=_rms_norm,
        gloss="entry i of each row x of length n; no mean, no β",
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
        gloss="position pos, z = ω_i = b^(−2i/d_k) from rope.inv_freq",
        section="rope-angles",
        scene="rope",
        example=lambda r: ([r.random(_PAIRS)], ex.context(_T, _PAIRS)),
    ),
    OpSpec(
        Op.ROPE,
        numeric=lambda a, c: numeric.rope(*a),
        formula=ROPE,
        evaluate=_rope,
        gloss="the pair (x_2i, x_2i+1) of a query or key, θ = θ_{pos,i}",
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
        gloss="the K/V head that query head j reads, r query heads per K/V head",
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
        gloss="each entry: z of x W_gate, u of x W_up (SiLU(z)·u)",
        section="swiglu",
        scene="feed-forward",
        example=lambda r: (
            [ex.normal(r, _T, _F), ex.normal(r, _T, _F)],
            ex.context(_T, _F),
        ),
    ),
)
