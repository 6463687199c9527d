"""One gradient, backwards: from the loss back through one attention layer.

p − y → ∂h → ∂O = ∂(weights · V) → ∂P → ∂S (softmax) → ∂Q, ∂K, for the position
and head the report's "One gradient, backwards" section shows
(:func:`explainer.report.gradient_flow.gradient_flow`), with the trace's
``backward.*`` stages. A trace without them (``explainer render`` passes the
forward trace) gets them from :func:`explainer.backward.with_backward`, the
same library call as ``explainer trace --backward``; the scene computes none.
Goodfellow, Bengio & Courville 2016, §6.5; Vaswani et al. 2017, Eq. 1.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    HIGHLIGHT,
    K_COLOR,
    MUTED,
    Q_COLOR,
    TraceMatrix,
    TraceScene,
    decoder_tokens,
    stack_tokens,
)
from manim import *

from explainer.i18n import _, ngettext
from explainer.report.gradient_flow import gradient_flow, rules
from explainer.symbolic.backward_cross_entropy import cross_entropy
from explainer.symbolic.render import latex
from explainer.trace import Trace

FONT = 26
CHAIN = ("p - y", r"\partial h", r"\partial O", r"\partial P", r"\partial S",
         r"\partial Q,\ \partial K")  # fmt: skip
# The rules' gradients (``dz``, ``dh``, …) as the chain, the rows and the report's
# text name them: ∂z, ∂h, … The softmax rule's dx, dy are this walk's ∂S, ∂P.
PARTIAL = {"dz": "z", "dh": "h", "dO": "O", "dP": "P", "dS": "S", "dQ": "Q",
           "dK": "K", "dx": "S", "dy": "P"}  # fmt: skip


def rule_latex(rule: sp.Basic, names: dict[str, str] | None = None) -> str:
    """A rule of :func:`rules` in LaTeX, its gradients written ∂h rather than dh
    (and ``names`` renamed too): the same SymPy object with its symbols renamed.

    >>> print(rule_latex(rules()["hidden"]))
    \\partial h = \\partial z E
    """
    names = {k: rf"\partial {v}" for k, v in PARTIAL.items()} | (names or {})
    renamed = {}
    for atom in rule.atoms(sp.Symbol, sp.MatrixSymbol):
        name = getattr(atom, "name", "")
        if name in names:
            new = names[name]
            renamed[atom] = (
                sp.MatrixSymbol(new, *atom.shape)
                if isinstance(atom, sp.MatrixSymbol)
                else sp.Symbol(new)
            )
    return latex(rule.xreplace(renamed))


def with_gradients(trace: Trace) -> Trace:
    """``trace`` with its backward stages (added if missing; toy models only)."""
    if "backward.loss" in trace:
        return trace
    if trace.config.model:
        raise ValueError(
            _(
                "the backward pass is recorded for the toy models only, not {model}"
            ).format(model=trace.config.model)
        )
    from explainer.backward import with_backward

    return with_backward(trace)


def power_of_ten(values: np.ndarray) -> int:
    """The exponent k that writes ``values`` as numbers ≈ 1 × 10^k.

    >>> power_of_ten(np.array([3.2e-4, -1e-5]))
    -4
    >>> power_of_ten(np.array([0.0]))
    0
    """
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return math.floor(math.log10(peak)) if peak > 0 else 0


class GradientFlow(TraceScene):
    """The chain rule, step by step, with the trace's numbers."""

    def construct(self) -> None:
        trace = self.trace = with_gradients(self.trace)
        self.numbers: list[tuple[str, np.ndarray]] = []  # (name, values) shown
        flow = gradient_flow(trace)
        if flow is None:
            raise ValueError(_("this trace has no attention layer to follow back"))
        prefix, h, t = flow.prefix, flow.head, flow.position
        self.keys = (
            stack_tokens(trace, "encoder")
            if prefix.endswith("cross_attn")
            else decoder_tokens(trace)
        )
        tag = _("{stage} · head {head}\nposition {t} ({reads} → {writes})").format(
            stage=prefix, head=h, t=t, reads=flow.reads, writes=flow.writes
        )
        y, p = sp.IndexedBase("y"), sp.IndexedBase("p")
        loss = sp.Eq(sp.Symbol("L"), cross_entropy(y, p, sp.Symbol("V")))
        head = self.header(_("One gradient, backwards"), latex(loss), tag)
        chain = self._chain().to_edge(DOWN, buff=1.0)
        self.play(FadeIn(head, chain), run_time=0.8)
        self.chain = chain
        self.chain_top = chain.get_top()[1] + 0.2  # on screen; the camera moves
        self.fix(chain)

        labels = np.asarray(trace["backward.labels"])
        probs = np.asarray(trace["output.probs"])[t]
        dz = np.asarray(trace["backward.output.logits"])[t]
        cols = list(dict.fromkeys([int(labels[t]), int(np.argmax(probs))]))
        cols += [int(i) for i in np.argsort(-np.abs(dz), kind="stable")]
        cols = list(dict.fromkeys(cols))[:5]
        words = [trace.vocab[i] for i in cols]
        y = np.zeros(len(cols))
        y[0] = 1.0
        self._step(
            0,
            ("logits",),
            [("p", probs[cols], words), ("y", y, words), ("(p-y)/T", dz[cols], words)],
            _(
                'Position {t} must write "{word}": p − y is negative there, '
                "positive elsewhere"
            ).format(t=t, word=flow.writes),
        )
        hidden = np.asarray(trace[trace.find("logits_backward_h")[0].name])[t]
        self._step(
            1,
            ("hidden",),
            [(r"\partial h", hidden, None)],
            _("Into the last vector: the logits were h Eᵀ, so ∂h = ∂z E"),
        )
        d_o = np.asarray(trace[f"backward.{prefix}.heads"])[h, t]
        self._step(
            2,
            (),
            [(r"\partial O", d_o, None)],
            ngettext(
                "Back through {n} stage (feed-forward, LayerNorm, Wᴼ) "
                "to head {head}'s output",
                "Back through {n} stages (feed-forward, LayerNorm, Wᴼ) "
                "to head {head}'s output",
                len(flow.between),
            ).format(n=len(flow.between), head=h),
        )
        d_p = np.asarray(trace[f"backward.{prefix}.weights"])[h, t]
        self._step(
            3,
            ("weights",),
            [(r"\partial P", d_p, self.keys)],
            _(
                "O = P V, so each weight gets ∂O · (its key's row of V): "
                "one number per key"
            ),
        )
        p = np.asarray(trace[f"{prefix}.weights"])[h, t]
        d_s = np.asarray(trace[f"backward.{prefix}.masked"])[h, t]
        self._step(
            4,
            ("softmax",),
            [
                ("P", p, self.keys),
                (r"\partial P", d_p, self.keys),
                (r"\partial S", d_s, self.keys),
            ],
            _("Softmax: each score gets its weight times ∂P minus the weighted mean"),
        )
        d_q = np.asarray(trace[f"backward.{prefix}.q"])[h, t]
        d_k = np.asarray(trace[f"backward.{prefix}.k"])[h]
        self._step(
            5,
            ("query", "key"),
            [(r"\partial Q", d_q, None), (r"\partial K", d_k, None)],
            _("Into the query and the keys: ∂Q = ∂S K/√d_k and ∂K = ∂Sᵀ Q/√d_k"),
            key_rows=self.keys,
        )
        self.finish(1.5)

    # --- pieces ----------------------------------------------------------------

    def _chain(self) -> VGroup:
        parts = VGroup()
        for k, item in enumerate(CHAIN):
            parts.add(MathTex(item, font_size=30, color=MUTED))
            if k < len(CHAIN) - 1:
                parts.add(MathTex(r"\rightarrow", font_size=30, color=MUTED))
        return parts.arrange(RIGHT, buff=0.25)

    def _step(
        self,
        index: int,
        rule: tuple[str, ...],
        rows: list[tuple[str, np.ndarray, list[str] | None]],
        caption: str,
        key_rows: list[str] | None = None,
    ) -> None:
        """One step: its rules (if any), its rows of numbers, the chain lit up."""
        body = VGroup()
        if rule:  # side by side (∂Q's and ∂K's)
            # the softmax rule's p is this walk's P, the attention weights
            names = {"p": "P"} if rule == ("softmax",) else {}
            body.add(
                VGroup(
                    *(
                        MathTex(rule_latex(rules()[n], names), font_size=36)
                        for n in rule
                    )
                ).arrange(RIGHT, buff=1.0)
            )
        for name, values, cols in rows:
            body.add(self._numbers(name, values, cols, key_rows))
        body.arrange(DOWN, buff=0.35)
        room = VGroup(body)
        # beside the last step's numbers; the camera moves onto it and magnifies
        # it to fill the space between the header and the chain (a step of many
        # numbers is seen smaller, as if shrunk to fit)
        shown = getattr(self, "_shown", None)
        # The chain lights this step once the last step has been read (play()
        # would hold its caption, but after the chain lit), and before zoom()
        # copies the chain.
        left = self.caption_left()
        if left > 1 / config.frame_rate:
            self.wait(left)
        if shown is not None:
            room.next_to(shown[0], RIGHT, buff=3.0)
            self.clear(*shown)
        self.chain[2 * index].set_color(HIGHLIGHT)
        anims = self.caption(caption)
        anims += self.zoom(room, most=1.6, room=1.0, bottom=self.chain_top, least=0.4)
        self.play(FadeIn(room), *anims, run_time=0.9)
        self._shown = [room]
        self.wait(1.2)

    def _numbers(
        self,
        name: str,
        values: np.ndarray,
        cols: list[str] | None,
        key_rows: list[str] | None,
    ) -> VGroup:
        """A row (or matrix) of numbers ≈ 1, with its name and × 10^k."""
        values = np.atleast_2d(values)
        self.numbers.append((name, values))
        is_weight = name in ("p", "y", "P")
        k = 0 if is_weight else power_of_ten(values)
        shown = values / 10.0**k
        mob = TraceMatrix(shown, font_size=FONT, max_rows=8, max_cols=8)
        color = Q_COLOR if "Q" in name else K_COLOR if "K" in name else WHITE
        label = MathTex(name + ("" if k == 0 else rf"\ (\times 10^{{{k}}})"),
                        font_size=30, color=color)  # fmt: skip
        parts = VGroup(mob)
        if cols is not None:
            parts.add(mob.label_cols(cols, 18))
        if values.shape[0] > 1 and key_rows is not None:
            parts.add(mob.label_rows(key_rows, 18))
        label.next_to(parts, LEFT, buff=0.3).set_y(mob.get_y())  # beside the numbers
        return VGroup(label, parts)
