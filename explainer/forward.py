"""The forward pass: composes :mod:`explainer.numeric` ops and records each stage.

No arithmetic happens here beyond calling a numeric op and recording its result, so
the trace holds every intermediate value under a stable name:

- ``{stack}.embed.ids | one_hot | lookup | scaled | pe | input`` (``stack`` is
  ``encoder`` or ``decoder``; ``scaled`` only with ``scale_embeddings``)
- ``{stack}.{l}.{attn}.q | k | v | scores | scaled | mask | masked | weights | heads
  | concat | out`` (``attn`` is ``self_attn`` or ``cross_attn``; q/k/v and the
  per-head stages are (n_heads, T, d) arrays)
- ``{stack}.{l}.residual{n}``, ``{stack}.{l}.norm{n}``, ``{stack}.{l}.ffn.hidden |
  activation | out``; ``{stack}.norm`` closes a pre-LN stack
- ``output.logits | probs | prediction``

Vaswani et al. 2017, §3 (Figure 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explainer import numeric
from explainer.config import ModelConfig
from explainer.params import Params
from explainer.trace import Op, Recorder, Stage

Named = tuple[np.ndarray, str]  # an array and the stage name it was recorded under


@dataclass(frozen=True)
class ForwardResult:
    """The recorded stages (empty when not recording) and the output logits."""

    stages: tuple[Stage, ...]
    logits: np.ndarray  # (T, V)


def forward(
    cfg: ModelConfig,
    params: Params,
    source_ids: np.ndarray,
    target_ids: np.ndarray | None = None,
    *,
    pad_id: int | None = None,
    record: bool = True,
) -> ForwardResult:
    """Run the model on token ids (T,) or a padded batch (B, T).

    ``source_ids`` feed the encoder (or the decoder of a decoder-only model);
    ``target_ids`` feed the decoder of an encoder-decoder. With ``pad_id`` given,
    keys equal to it are masked out (padding when batching); pad on the right, so
    that every query keeps at least one key (a query with none gets NaN weights).
    The caller's arrays are not modified; recorded stages are read-only.
    """
    rec = Recorder(record)
    source_ids = np.array(source_ids)  # a copy: the trace freezes what it records
    target_ids = None if target_ids is None else np.array(target_ids)
    if cfg.architecture == "encoder-decoder" and target_ids is None:
        raise ValueError("an encoder-decoder needs target ids for its decoder")
    if cfg.architecture == "decoder":
        out = decoder_stack(rec, cfg, params, source_ids, None, pad_id)
    else:
        memory, src_padding = encoder_stack(rec, cfg, params, source_ids, pad_id)
        if cfg.architecture == "encoder":
            out = memory
        else:
            encoder = (memory, source_ids.shape[-1], src_padding)
            out = decoder_stack(rec, cfg, params, target_ids, encoder, pad_id)
    scores = output_head(rec, params, out)
    return ForwardResult(tuple(rec.stages), scores)


def token_lookup(rec: Recorder, prefix: str, params: Params, ids: np.ndarray) -> Named:
    """Token ids → one-hot rows → one-hot × E, the rows of E (§3.4): the start of
    every model here. Records ``{prefix}.ids``, ``.one_hot`` and ``.lookup``.

    The rows are taken directly (:func:`numeric.lookup`); ``explainer verify``
    checks that they equal the recorded one-hot matrix times E."""
    table = params["embedding"]  # (V, d_model)
    rec(f"{prefix}.ids", Op.TOKEN_IDS, (), ids)
    if rec.enabled:  # only a trace shows the (T, V) one-hot matrix
        one_hot = numeric.one_hot(ids, table.shape[0], table.dtype)  # (T, V)
        rec(f"{prefix}.one_hot", Op.ONE_HOT, (f"{prefix}.ids",), one_hot)
    x = rec(
        f"{prefix}.lookup",
        Op.EMBEDDING,
        (f"{prefix}.one_hot", "embedding"),
        numeric.lookup(table, ids),
    )  # (T, d_model)
    return x, f"{prefix}.lookup"


def embed(
    rec: Recorder, prefix: str, cfg: ModelConfig, params: Params, ids: np.ndarray
) -> Named:
    """Token ids → one-hot → E lookup → (×√d_model) → + PE (§3.4, §3.5)."""
    table = params["embedding"]  # (V, d_model)
    x, name = token_lookup(rec, prefix, params, ids)
    if cfg.scale_embeddings:
        x = rec(
            f"{prefix}.scaled",
            Op.SCALE_EMBEDDING,
            (name,),
            numeric.scale_embedding(x, cfg.d_model),
        )
        name = f"{prefix}.scaled"
    pe = rec(
        f"{prefix}.pe",
        Op.POSITIONAL_ENCODING,
        (),
        numeric.positional_encoding(ids.shape[-1], cfg.d_model, table.dtype),
    )  # (T, d_model)
    x = rec(f"{prefix}.input", Op.ADD, (name, f"{prefix}.pe"), numeric.add(x, pe))
    return x, f"{prefix}.input"


def attention(
    rec: Recorder,
    prefix: str,
    cfg: ModelConfig,
    params: Params,
    query: Named,
    memory: Named,
    mask: tuple[Op, np.ndarray],
    padding: Named | None,
) -> Named:
    """Multi-head attention (§3.2.2): softmax(Q Kᵀ/√d_k) V per head, concat, W_O."""
    x, x_name = query
    m, m_name = memory
    mask_op, allowed = mask
    p = prefix
    h = cfg.n_heads

    def project(which: str, src: np.ndarray, src_name: str) -> np.ndarray:
        w, b = f"{p}.w_{which}", f"{p}.b_{which}"
        value = numeric.project_heads(src, params[w], params[b], h)
        return rec(f"{p}.{which}", Op.PROJECT_HEADS, (src_name, w, b), value)

    q = project("q", x, x_name)  # (h, T_q, d_k)
    k = project("k", m, m_name)  # (h, T_k, d_k)
    v = project("v", m, m_name)  # (h, T_k, d_v)
    s = rec(f"{p}.scores", Op.QK, (f"{p}.q", f"{p}.k"), numeric.qk(q, k))
    s = rec(f"{p}.scaled", Op.SCALE, (f"{p}.scores",), numeric.scale(s, cfg.d_k))
    rec(f"{p}.mask", mask_op, (), allowed)  # (T_q, T_k)
    masks, names = (allowed,), (f"{p}.scaled", f"{p}.mask")
    if padding is not None:
        masks, names = (allowed, padding[0]), (*names, padding[1])
    s = rec(f"{p}.masked", Op.APPLY_MASK, names, numeric.apply_mask(s, *masks))
    return combine_heads(rec, p, params, s, (v, f"{p}.v"))


def combine_heads(
    rec: Recorder, prefix: str, params: Params, masked: np.ndarray, v: Named
) -> Named:
    """softmax over the keys → weights · V → Concat(heads) → W_O (Eq. 1, §3.2.2),
    from the masked scores ``{prefix}.masked``."""
    p = prefix
    w = rec(f"{p}.weights", Op.SOFTMAX, (f"{p}.masked",), numeric.softmax(masked))
    o = rec(f"{p}.heads", Op.ATTEND, (f"{p}.weights", v[1]), numeric.attend(w, v[0]))
    c = rec(f"{p}.concat", Op.CONCAT_HEADS, (f"{p}.heads",), numeric.concat_heads(o))
    out = rec(
        f"{p}.out",
        Op.LINEAR,
        (f"{p}.concat", f"{p}.w_o", f"{p}.b_o"),
        numeric.linear(c, params[f"{p}.w_o"], params[f"{p}.b_o"]),
    )  # (T_q, d_model)
    return out, f"{p}.out"


def feed_forward(
    rec: Recorder, prefix: str, cfg: ModelConfig, params: Params, x: Named
) -> Named:
    """FFN(x) = act(x W₁ + b₁) W₂ + b₂, row by row (§3.3, Eq. 2)."""
    p = prefix
    value, name = x
    hidden = rec(
        f"{p}.hidden",
        Op.LINEAR,
        (name, f"{p}.w_1", f"{p}.b_1"),
        numeric.linear(value, params[f"{p}.w_1"], params[f"{p}.b_1"]),
    )  # (T, d_ff)
    act_op, act = (
        (Op.RELU, numeric.relu) if cfg.activation == "relu" else (Op.GELU, numeric.gelu)
    )
    a = rec(f"{p}.activation", act_op, (f"{p}.hidden",), act(hidden))
    out = rec(
        f"{p}.out",
        Op.LINEAR,
        (f"{p}.activation", f"{p}.w_2", f"{p}.b_2"),
        numeric.linear(a, params[f"{p}.w_2"], params[f"{p}.b_2"]),
    )  # (T, d_model)
    return out, f"{p}.out"


def layer_norm(
    rec: Recorder, name: str, cfg: ModelConfig, params: Params, x: Named
) -> Named:
    """LayerNorm with the parameters ``{name}.gamma`` and ``{name}.beta``."""
    gamma, beta = f"{name}.gamma", f"{name}.beta"
    value = numeric.layer_norm(x[0], params[gamma], params[beta], cfg.eps)
    return rec(name, Op.LAYER_NORM, (x[1], gamma, beta), value), name


def sublayer(
    rec: Recorder,
    prefix: str,
    n: int,
    cfg: ModelConfig,
    params: Params,
    x: Named,
    body: Callable[[Named], Named],
) -> Named:
    """Residual connection and LayerNorm around ``body`` (§3.1, §5.4).

    post (the paper): LayerNorm(x + Sublayer(x)); pre: x + Sublayer(LayerNorm(x)).
    """
    residual = f"{prefix}.residual{n}"
    if cfg.norm == "post":
        out = body(x)
        r = rec(residual, Op.ADD, (x[1], out[1]), numeric.add(x[0], out[0]))
        return layer_norm(rec, f"{prefix}.norm{n}", cfg, params, (r, residual))
    normed = layer_norm(rec, f"{prefix}.norm{n}", cfg, params, x)
    out = body(normed)
    r = rec(residual, Op.ADD, (x[1], out[1]), numeric.add(x[0], out[0]))
    return r, residual


def padding(
    rec: Recorder, prefix: str, ids: np.ndarray, pad_id: int | None
) -> Named | None:
    """The keys that are not <pad>, recorded once per stack (batches only)."""
    if pad_id is None:
        return None
    value = numeric.padding_mask(ids, pad_id)  # (..., 1, 1, T)
    return rec(f"{prefix}.padding", Op.PADDING_MASK, (f"{prefix}.ids",), value), (
        f"{prefix}.padding"
    )


def encoder_stack(
    rec: Recorder,
    cfg: ModelConfig,
    params: Params,
    ids: np.ndarray,
    pad_id: int | None,
) -> tuple[Named, Named | None]:
    """N encoder layers: self-attention, then FFN, each wrapped by :func:`sublayer`.

    Returns the output and the source padding mask (for cross-attention)."""
    x = embed(rec, "encoder.embed", cfg, params, ids)
    pad = padding(rec, "encoder.embed", ids, pad_id)
    return encoder_layers(rec, cfg, params, x, ids.shape[-1], pad), pad


def encoder_layers(
    rec: Recorder,
    cfg: ModelConfig,
    params: Params,
    x: Named,
    seq_len: int,
    pad: Named | None,
) -> Named:
    """The N encoder layers over embedded input ``x`` (and the final LayerNorm of a
    pre-LN stack); shared with the pretrained encoders of :mod:`explainer.models`."""
    mask = (Op.NO_MASK, numeric.no_mask(seq_len, seq_len))
    for layer in range(cfg.n_layers):
        p = f"encoder.{layer}"
        x = sublayer(
            rec, p, 1, cfg, params, x,
            _attend_to(rec, f"{p}.self_attn", cfg, params, None, mask, pad),
        )  # fmt: skip
        x = sublayer(rec, p, 2, cfg, params, x, _ffn(rec, f"{p}.ffn", cfg, params))
    if cfg.norm == "pre":
        x = layer_norm(rec, "encoder.norm", cfg, params, x)
    return x


def decoder_stack(
    rec: Recorder,
    cfg: ModelConfig,
    params: Params,
    ids: np.ndarray,
    encoder: tuple[Named, int, Named | None] | None,
    pad_id: int | None,
) -> Named:
    """N decoder layers: masked self-attention, cross-attention over the encoder
    output (``encoder`` = output, source length, source padding), then FFN (§3.1)."""
    x = embed(rec, "decoder.embed", cfg, params, ids)
    pad = padding(rec, "decoder.embed", ids, pad_id)
    causal = (Op.CAUSAL_MASK, numeric.causal_mask(ids.shape[-1]))
    for layer in range(cfg.n_layers):
        p = f"decoder.{layer}"
        x = sublayer(
            rec, p, 1, cfg, params, x,
            _attend_to(rec, f"{p}.self_attn", cfg, params, None, causal, pad),
        )  # fmt: skip
        n = 2
        if encoder is not None:
            memory, src_len, src_pad = encoder
            cross = (Op.NO_MASK, numeric.no_mask(ids.shape[-1], src_len))
            x = sublayer(
                rec, p, n, cfg, params, x,
                _attend_to(rec, f"{p}.cross_attn", cfg, params, memory, cross,
                           src_pad),
            )  # fmt: skip
            n += 1
        x = sublayer(rec, p, n, cfg, params, x, _ffn(rec, f"{p}.ffn", cfg, params))
    if cfg.norm == "pre":
        x = layer_norm(rec, "decoder.norm", cfg, params, x)
    return x


def _attend_to(
    rec: Recorder,
    prefix: str,
    cfg: ModelConfig,
    params: Params,
    memory: Named | None,
    mask: tuple[Op, np.ndarray],
    padding: Named | None,
) -> Callable[[Named], Named]:
    """The attention sub-layer body: self-attention when ``memory`` is None."""

    def body(y: Named) -> Named:
        keys = y if memory is None else memory
        return attention(rec, prefix, cfg, params, y, keys, mask, padding)

    return body


def _ffn(
    rec: Recorder, prefix: str, cfg: ModelConfig, params: Params
) -> Callable[[Named], Named]:
    return lambda y: feed_forward(rec, prefix, cfg, params, y)


def output_head(rec: Recorder, params: Params, x: Named) -> np.ndarray:
    """Logits h Eᵀ (tied embedding, §3.4), softmax, and the predicted token."""
    scores = rec(
        "output.logits",
        Op.LOGITS,
        (x[1], "embedding"),
        numeric.logits(x[0], params["embedding"]),
    )  # (T, V)
    probs = rec("output.probs", Op.SOFTMAX, ("output.logits",), numeric.softmax(scores))
    rec("output.prediction", Op.ARGMAX, ("output.probs",), numeric.argmax(probs))
    return scores
