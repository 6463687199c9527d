"""One gradient, backwards: the report's walk from the loss back through one
attention layer, read from a trace's ``backward.*`` stages (``explainer trace
--backward``; ``explainer report --backward``).

For one output position t and one head, it shows the numbers the backward pass
recorded, each beside the SymPy rule that gives it
(:mod:`explainer.symbolic.backward_cross_entropy`, ``backward_linear``,
``backward_attention``, ``backward_softmax``):

    (p − y)/T  →  ∂h = ∂z E  →  ∂O (the head's part of ∂Concat)  →  ∂P = ∂O Vᵀ
    →  ∂S = P ⊙ (∂P − ⟨∂P, P⟩)  →  ∂Q = ∂S K/√d_k,  ∂K = ∂Sᵀ Q/√d_k

The layer is the last decoder layer's cross-attention (the one the "watch it
learn" section shows), else the last self-attention; the position is the one
with the largest loss. Only ⟨∂P, P⟩, the inner product the softmax rule
subtracts, is worked out here, for the learner to see; every other number is a
recorded stage.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from markupsafe import Markup

from explainer.i18n import _
from explainer.report.cache import remembered
from explainer.report.tables import Table, exact, indices, number, table
from explainer.token_text import Vocabulary, display
from explainer.trace import Op, Trace

if TYPE_CHECKING:
    import sympy as sp

TOP = 5  # vocabulary columns shown of p − y: the label, the prediction, the largest


@dataclass
class FlowStep:
    """One step of the walk: what it computes, its rule, the trace's numbers."""

    id: str
    title: str
    text: str
    math: list[Markup]
    tables: list[Table]
    stages: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class GradientFlow:
    """The walk, for the template."""

    prefix: str  # the attention layer, e.g. decoder.1.cross_attn
    head: int
    position: int
    reads: str  # the token the position reads
    writes: str  # the token it must predict
    loss: str  # the whole loss L
    position_loss: str  # −log p[label] at this position
    steps: list[FlowStep]
    between: tuple[str, ...]  # the backward stages between ∂h and ∂O, by name
    saturated: bool = False  # the head's weights at the position are one-hot (> 0.99)


def has_backward(trace: Trace) -> bool:
    return "backward.loss" in trace and bool(trace.find(Op.LOGITS_BACKWARD_H))


def attention_layer(trace: Trace) -> str | None:
    """The attention layer the walk goes through (a stage-name prefix)."""
    cfg = trace.config
    last = cfg.n_layers - 1
    stack = "encoder" if cfg.architecture == "encoder" else "decoder"
    for prefix in (f"decoder.{last}.cross_attn", f"{stack}.{last}.self_attn"):
        if f"backward.{prefix}.q" in trace:
            return prefix
    return None


def gradient_flow(trace: Trace, head: int | None = None) -> GradientFlow | None:
    """The walk for ``trace`` (None without backward stages), through ``head``,
    by default the head whose scores get the largest gradient at the position."""
    prefix = attention_layer(trace) if has_backward(trace) else None
    if prefix is None:
        return None
    words = Vocabulary(trace.vocab)
    stack = prefix.split(".")[0]
    part = trace.target if stack == "decoder" and trace.target is not None else None
    queries = display((part or trace.source).tokens, words.byte_level)
    keys = (
        display(trace.source.tokens, words.byte_level)
        if prefix.endswith("cross_attn")
        else queries
    )
    labels = np.asarray(trace["backward.labels"])  # (T,)
    probs = np.asarray(trace["output.probs"])  # (T, V)
    picked = probs[np.arange(len(labels)), labels]
    t = int(np.argmax(-np.log(picked)))  # the position with the largest loss
    label = int(labels[t])
    if head is None:
        d_scores = np.asarray(trace[f"backward.{prefix}.masked"])[:, t]  # (h, M)
        head = int(np.argmax(np.abs(d_scores).max(-1)))
    saturated = float(np.asarray(trace[f"{prefix}.weights"])[head, t].max()) > 0.99
    vocab = display(trace.vocab, words.byte_level)
    h_stage = trace.find(Op.LOGITS_BACKWARD_H)[0]
    dk = trace.config.d_k
    steps = [
        _logits_step(trace, t, label, vocab),
        _hidden_step(trace, h_stage.name, t),
        _heads_step(trace, prefix, head, t),
        _weights_step(trace, prefix, head, t, keys),
        _softmax_step(trace, prefix, head, t, keys),
        _query_step(trace, prefix, head, t, dk),
        _key_step(trace, prefix, head, keys, dk),
    ]
    names = trace.names()
    between = names[
        names.index(h_stage.name) + 1 : names.index(f"backward.{prefix}.heads")
    ]
    return GradientFlow(
        prefix=prefix,
        head=head,
        position=t,
        reads=queries[t],
        writes=vocab[label],
        loss=number(float(trace["backward.loss"])),
        position_loss=number(float(-np.log(picked[t]))),
        steps=steps,
        between=tuple(n for n in between if not _is_parameter(trace, n)),
        saturated=saturated,
    )


def _is_parameter(trace: Trace, name: str) -> bool:
    return name.removeprefix("backward.").split("@")[0] in trace.params


def _row(name: str, value: np.ndarray, label: str, cols, **kw) -> Table:
    return table(name, np.atleast_2d(value), rows=[label], cols=cols, **kw)


# --- the steps ---------------------------------------------------------------------


def _logits_step(trace: Trace, t: int, label: int, vocab: list[str]) -> FlowStep:
    dz = np.asarray(trace["backward.output.logits"])[t]  # (V,)
    p = np.asarray(trace["output.probs"])[t]
    order = [label, int(np.argmax(p))]
    order += [int(i) for i in np.argsort(-np.abs(dz), kind="stable")]
    cols = list(dict.fromkeys(order))[:TOP]
    y = np.zeros(len(cols))
    y[0] = 1.0
    names = [vocab[i] for i in cols]
    n = len(trace["backward.labels"])
    both = table(
        "output.probs",
        np.stack([p[cols], y]),
        rows=["p", "y"],
        cols=names,
        caption=_("p and the one-hot y at position {t} ({n} of {V} words)").format(
            t=t, n=len(cols), V=len(p)
        ),
        scale="probability",
    )
    grad = _row(
        "backward.output.logits",
        dz[cols],
        "(p − y)/T",
        names,
        caption=_("∂L/∂z, row {t}: the same words").format(t=t),
    )
    return FlowStep(
        "grad-logits",
        _("The loss: ∂L/∂z = (p − y)/T"),
        _(
            "The loss L is the mean of −log p over the T = {n} positions, so the "
            "gradient of the logits z is p − y divided by T: negative for the word "
            "the position must write, positive for every other word, in proportion "
            "to its probability."
        ).format(n=n),
        [_math("logits")],
        [both, grad],
        ("output.probs", "backward.output.logits"),
    )


def _hidden_step(trace: Trace, name: str, t: int) -> FlowStep:
    value = np.asarray(trace[name])[t]
    forward = name.removeprefix("backward.")
    return FlowStep(
        "grad-hidden",
        _("Into the last vector: ∂h = ∂z E"),
        _(
            "The logits are z = h Eᵀ (the output shares the embedding E, §3.4), so "
            "the gradient of h is ∂z E: a mix of the rows of E, pulled toward the "
            "word to write and pushed away from the others."
        ),
        [_math("hidden")],
        [
            _row(
                name,
                value,
                "∂h",
                indices(len(value)),
                caption=_("∂L/∂h, row {t}").format(t=t),
            )
        ],
        (name,),
        {"forward": forward},
    )


def _heads_step(trace: Trace, prefix: str, head: int, t: int) -> FlowStep:
    name = f"backward.{prefix}.heads"
    value = np.asarray(trace[name])[head, t]
    return FlowStep(
        "grad-heads",
        _("Back to one head: ∂O = ∂(weights · V)"),
        _(
            "Through the stages listed below, back to the output of {prefix}. "
            "Concat put the heads side by side, so head {head}'s gradient is its "
            "own d_v = {d_v} columns of ∂Concat."
        ).format(prefix=prefix, head=head, d_v=value.shape[0]),
        [],
        [
            _row(
                name,
                value,
                "∂O",
                indices(len(value)),
                caption=_("∂O, head {head}, row {t}").format(head=head, t=t),
                head=head,
            )
        ],
        (name,),
    )


def _weights_step(
    trace: Trace, prefix: str, head: int, t: int, keys: list[str]
) -> FlowStep:
    name = f"backward.{prefix}.weights"
    v = np.asarray(trace[f"{prefix}.v"])[head]  # (M, d_v)
    return FlowStep(
        "grad-weights",
        _("Into the weights: ∂P = ∂O Vᵀ"),
        _(
            "O = P V, so each weight P_tj gets ∂O · V_j: large where the value of "
            "key j points along the gradient."
        ),
        [_math("weights")],
        [
            table(
                f"{prefix}.v",
                v,
                rows=keys,
                cols=indices(v.shape[1]),
                caption=_("V, head {head}").format(head=head),
                head=head,
            ),
            _row(
                name,
                np.asarray(trace[name])[head, t],
                "∂P",
                keys,
                caption=_("∂P = ∂O Vᵀ, row {t}").format(t=t),
                head=head,
            ),
        ],
        (f"{prefix}.v", name),
    )


def _softmax_step(
    trace: Trace, prefix: str, head: int, t: int, keys: list[str]
) -> FlowStep:
    p = np.asarray(trace[f"{prefix}.weights"])[head, t]
    dy = np.asarray(trace[f"backward.{prefix}.weights"])[head, t]
    dx_name = f"backward.{prefix}.masked"
    dx = np.asarray(trace[dx_name])[head, t]
    inner = float(dy @ p)  # ⟨dy, p⟩: shown to explain the rule, not a stage
    return FlowStep(
        "grad-softmax",
        _("Through softmax: ∂S = p ⊙ (dy − ⟨dy, p⟩)"),
        _(
            "Softmax's Jacobian is never built: each score's gradient is its weight "
            "times how much its dy exceeds the weighted mean ⟨dy, p⟩. A key with "
            "weight near 0 gets a gradient near 0."
        ),
        [_math("softmax")],
        [
            _row(
                f"{prefix}.weights",
                p,
                "p",
                keys,
                caption=_("p: the weights, row {t}").format(t=t),
                scale="probability",
                head=head,
            ),
            _row(
                f"backward.{prefix}.weights",
                dy,
                "dy",
                keys,
                caption="dy = ∂P",
                head=head,
            ),
            _row(
                dx_name,
                dx,
                "∂S",
                keys,
                caption=_("∂S, row {t}").format(t=t),
                head=head,
            ),
        ],
        (f"{prefix}.weights", f"backward.{prefix}.weights", dx_name),
        {"inner": number(inner), "inner_exact": exact(inner)},
    )


def _query_step(trace: Trace, prefix: str, head: int, t: int, dk: int) -> FlowStep:
    name = f"backward.{prefix}.q"
    value = np.asarray(trace[name])[head, t]
    return FlowStep(
        "grad-query",
        _("Into the query: ∂Q = ∂S K/√d_k"),
        _(
            "The mask lets every gradient through here (masked keys had weight 0, "
            "so their ∂S is 0), and ÷√d_k = ÷{root} is recorded as {stage}. Row {t} "
            "of ∂Q needs row {t} of ∂S only."
        ).format(root=number(dk**0.5), stage=f"backward.{prefix}.scores", t=t),
        [_math("query")],
        [
            _row(
                name,
                value,
                "∂Q",
                indices(len(value)),
                caption=_("∂Q, head {head}, row {t}").format(head=head, t=t),
                head=head,
            )
        ],
        (f"backward.{prefix}.scores", name),
    )


def _key_step(
    trace: Trace, prefix: str, head: int, keys: list[str], dk: int
) -> FlowStep:
    name = f"backward.{prefix}.k"
    value = np.asarray(trace[name])[head]
    return FlowStep(
        "grad-key",
        _("Into the keys: ∂K = ∂Sᵀ Q/√d_k"),
        _(
            "Every query looked at every key, so each key's gradient adds up the "
            "contributions of all positions, not only this one."
        ),
        [_math("key")],
        [
            table(
                name,
                value,
                rows=keys,
                cols=indices(value.shape[1]),
                caption=_("∂K, head {head}: one row per key").format(head=head),
                head=head,
            )
        ],
        (name,),
    )


# --- the rules, as SymPy objects (the report prints MathML, the scene LaTeX) ---------


def _m(name: str, rows: sp.Expr, cols: sp.Expr) -> sp.MatrixSymbol:
    import sympy as sp

    return sp.MatrixSymbol(name, rows, cols)


@functools.cache
def rules() -> dict[str, sp.Eq]:
    """Each step's rule, built by the functions the backward derivations prove
    (``explainer derive backward-cross-entropy | backward-linear |
    backward-attention | backward-softmax``)."""
    import sympy as sp

    from explainer.symbolic.backward_attention import key_grad, query_grad, weights_grad
    from explainer.symbolic.backward_cross_entropy import logits_grad
    from explainer.symbolic.backward_linear import input_grad
    from explainer.symbolic.backward_softmax import dy, p, softmax_vjp
    from explainer.symbolic.symbols import T_k, T_q, d_k, d_model, d_v

    j, n, vocab = sp.Symbol("j"), sp.Symbol("n"), sp.Symbol("V")
    probs, y, dz = (sp.IndexedBase(s) for s in ("p", "y", "dz"))
    d_s, d_o = _m("dS", T_q, T_k), _m("dO", T_q, d_v)
    return {
        "logits": sp.Eq(dz[j], logits_grad(probs[j], y[j], sp.Symbol("T"))),
        "hidden": sp.Eq(
            _m("dh", T_q, d_model),
            input_grad(_m("dz", T_q, vocab), _m("E", vocab, d_model).T),
        ),
        "weights": sp.Eq(_m("dP", T_q, T_k), weights_grad(d_o, _m("V", T_k, d_v))),
        "softmax": sp.Eq(sp.IndexedBase("dx")[j], softmax_vjp(p, dy, j, n)),
        "query": sp.Eq(_m("dQ", T_q, d_k), query_grad(d_s, _m("K", T_k, d_k), d_k)),
        "key": sp.Eq(_m("dK", T_k, d_k), key_grad(d_s, _m("Q", T_q, d_k), d_k)),
    }


def _math(name: str) -> Markup:
    return _rule_math(f"gradient:{name}")  # "gradient:": derivations are remembered


@functools.cache
@remembered()  # across runs: report/cache.py
def _rule_math(key: str) -> Markup:
    from explainer.report.mathml import mathml

    return mathml(rules()[key.removeprefix("gradient:")])
