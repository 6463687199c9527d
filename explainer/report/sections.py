"""One section of the report per step of the forward pass, as plain data: its
stages, tables, formulas, derivation excerpts, figures and checks. Which stages
go together is decided in :mod:`explainer.report.grouping`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explainer.i18n import _
from explainer.ops import OPS
from explainer.report import figures
from explainer.report.checks import Checks, Verdict
from explainer.report.derivations import Excerpt, excerpt
from explainer.report.formulas import OpFormula, op_formulas
from explainer.report.grouping import ATTN_NAMES, TITLES, derivations_of, stage_key
from explainer.report.tables import MAX_COLS, Table, indices, shape_text, table
from explainer.token_text import Vocabulary, display
from explainer.trace import Op, Stage, Trace

MAX_HEADS = 4  # per-head tables shown in a section; the views show every head
TOP_K = 10  # most probable next tokens shown
HEAD_MAX_COLS = 32  # a wider head (d_k = 64) is summarised: several heads per section


@dataclass
class Section:
    """Everything one section of the page shows."""

    id: str
    kind: str  # names the template partial: section_{kind}.html.j2
    title: str
    stack: str
    layer: int | None
    attn: str | None  # self_attn | cross_attn for the attention sections
    stages: tuple[str, ...]
    number: str = ""
    tables: list[Table] = field(default_factory=list)
    formulas: list[OpFormula] = field(default_factory=list)
    derivations: list[Excerpt] = field(default_factory=list)
    verdict: Verdict | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Builder:
    """Turns groups of stages into :class:`Section` values, one trace at a time."""

    def __init__(self, trace: Trace, checks: Checks) -> None:
        self.trace = trace
        self.checks = checks
        self.cfg = trace.config
        self.words = Vocabulary(trace.vocab)  # tokens as text (byte-level BPE decoded)
        self.seen: dict[tuple[str, str], str] = {}
        self.first_of_kind: dict[str, str] = {}

    # --- labels ---------------------------------------------------------------

    def tokens(self, stack: str) -> list[str]:
        """The tokens a stack reads (the decoder of an encoder-decoder: the target),
        as text."""
        t = self.trace
        part = t.target if stack == "decoder" and t.target is not None else t.source
        return display(part.tokens, self.words.byte_level)

    def keys(self, stack: str, attn: str | None) -> list[str]:
        return (
            display(self.trace.source.tokens, self.words.byte_level)
            if attn == "cross_attn"
            else self.tokens(stack)
        )

    # --- sections ---------------------------------------------------------------

    def section(self, stages: list[Stage]) -> Section:
        sid, kind, stack, layer, attn = stage_key(stages[0], self.cfg)
        names = tuple(s.name for s in stages)
        title = _(TITLES[kind]).format(layer=layer, stage=names[0])
        if kind in ("norm", "rms-norm") and layer is None:
            title = _("Final {title}").format(title=title)
        if attn:
            title = f"{_(ATTN_NAMES[attn]).capitalize()} · {title}"
        sec = Section(sid, kind, title, stack, layer, attn, names)
        sec.verdict = self.checks.verdict(names)
        sec.formulas = op_formulas(stages)
        for name, keep in derivations_of(kind, self.cfg.activation):
            if kind == "mask" and self._causal_later(stages):
                continue  # masking is explained where it happens
            found = excerpt(name, keep, self.seen, sid)
            if found is not None:
                sec.derivations.append(found)
        sec.extra["first"] = self.first_of_kind.setdefault(kind, sid)
        getattr(self, "_" + kind.replace("-", "_"), self._other)(sec, stages)
        return sec

    def _causal_later(self, stages: list[Stage]) -> bool:
        """An unmasked attention in a trace that also has a causal mask."""
        here = any(s.op == Op.CAUSAL_MASK for s in stages)
        return not here and bool(self.trace.find(Op.CAUSAL_MASK))

    def _tab(self, name: str, value: np.ndarray, rows, cols, **kw: Any) -> Table:
        return table(name, value, rows=rows, cols=cols, **kw)

    def _matrix(
        self,
        sec: Section,
        name: str,
        caption: str = "",
        *,
        rows: Sequence[str] | None = None,
        cols: Sequence[str] | None = None,
        heads: Sequence[int] | None = None,
        **kw: Any,
    ) -> None:
        """A (T, d) stage or parameter as one table; a (h, T, d) one per head
        (``heads``, by default the first ``MAX_HEADS``), summarised beyond
        ``HEAD_MAX_COLS`` columns."""
        value = self.trace[name]
        rows = rows or self.tokens(sec.stack)
        cols = cols or indices(value.shape[-1])
        caption = caption or name
        if value.ndim == 3:
            heads = list(heads if heads is not None else range(MAX_HEADS))
            heads = [h for h in heads if h < value.shape[0]]
            hidden = [h for h in range(value.shape[0]) if h not in heads]
            if hidden:
                note = (
                    f"{name}: heads {_ranges(hidden)} are not shown as tables "
                    "(the attention views have every head)."
                )
                sec.notes.append(note)
            for h in heads:
                sec.tables.append(
                    table(
                        name,
                        value[h],
                        rows=rows,
                        cols=cols,
                        caption=_("{caption} · head {h}").format(caption=caption, h=h),
                        head=h,
                        max_cols=HEAD_MAX_COLS,
                        **kw,
                    )
                )
        else:
            rows = rows if value.ndim == 2 else [""]
            sec.tables.append(
                table(name, value, rows=rows, cols=cols, caption=caption, **kw)
            )

    def _tokens(self, sec: Section, stages: list[Stage]) -> None:
        t = self.trace
        part = t.target if sec.stack == "decoder" and t.target is not None else t.source
        sec.extra["text"] = part.text
        sec.extra["unknown"] = list(part.unknown)
        sec.extra["rows"] = [
            {"position": p, "token": tok, "id": int(i), "text": text}
            for p, (tok, i, text) in enumerate(
                zip(part.tokens, part.ids, self.tokens(sec.stack), strict=True)
            )
        ]
        sec.extra["byte_level"] = self.words.byte_level
        sec.extra["vocab_size"] = len(t.vocab)
        sec.extra["is_target"] = part is t.target

    def _embedding(self, sec: Section, stages: list[Stage]) -> None:
        p = f"{sec.stack}.embed"
        toks = self.tokens(sec.stack)
        ids = [int(i) for i in self.trace[f"{p}.ids"]]
        wide = len(self.words) > MAX_COLS  # show the columns of the ids only
        sec.tables.append(
            self._tab(
                f"{p}.one_hot",
                self.trace[f"{p}.one_hot"],
                toks,
                self.words,
                caption=_("one-hot rows: the columns of the ids")
                if wide
                else _("one-hot rows"),
                scale="probability",
                compact=True,
                columns=ids if wide else None,
            )
        )
        emb = self.trace["embedding"]
        sec.tables.append(
            self._tab(
                "embedding",
                emb[ids],
                [f"E[{i}]" for i in ids],
                indices(emb.shape[1]),
                caption=_("the rows of E they pick"),
                shape=emb.shape,
                source_rows=tuple(ids),
            )
        )
        self._matrix(sec, f"{p}.lookup", "one-hot × E")
        if f"{p}.scaled" in self.trace:
            self._matrix(sec, f"{p}.scaled", "× √d_model")
            sec.extra["factor"] = math.sqrt(self.cfg.d_model)

    def _positional(self, sec: Section, stages: list[Stage]) -> None:
        p = f"{sec.stack}.embed"
        self._matrix(sec, f"{p}.pe", "PE")
        self._matrix(sec, f"{p}.input", "embedding + PE")
        pe = self.trace[f"{p}.pe"]
        if self.first_of_kind["positional"] == sec.id:
            sec.extra["heatmap"] = figures.pe_heatmap(pe, self.cfg.d_model)
            sec.extra["curves"] = figures.pe_curves(pe, self.cfg.d_model)

    def _qkv(self, sec: Section, stages: list[Stage]) -> None:
        p = sec.stages[0].rsplit(".", 1)[0]
        for which in "qkv":
            rows = (
                self.tokens(sec.stack)
                if which == "q"
                else self.keys(sec.stack, sec.attn)
            )
            self._matrix(sec, f"{p}.{which}", which.upper(), rows=rows)
        sec.extra["weights"] = [
            self._tab(
                f"{p}.w_{w}",
                self.trace[f"{p}.w_{w}"],
                indices(self.cfg.d_model),
                _head_cols(self.trace[f"{p}.w_{w}"], self.cfg.d_k),
                caption=f"W_{w.upper()}",
            )
            for w in "qkv"
        ]
        sec.extra["kv_heads"] = self.trace[f"{p}.k"].shape[0]
        sec.extra["sources"] = [
            s.inputs[0] for s in stages if s.name.endswith((".q", ".k"))
        ]

    def _attn_rows(self, sec: Section) -> tuple[list[str], list[str]]:
        return self.tokens(sec.stack), self.keys(sec.stack, sec.attn)

    def _scores(self, sec: Section, stages: list[Stage]) -> None:
        p = sec.stages[0].rsplit(".", 1)[0]
        rows, cols = self._attn_rows(sec)
        self._matrix(sec, f"{p}.scores", "Q Kᵀ", rows=rows, cols=cols)
        self._matrix(sec, f"{p}.scaled", "÷ √d_k", rows=rows, cols=cols)
        q, k = self.trace.stage(f"{p}.scores").inputs  # q, k (Llama: after RoPE)
        sec.extra["variance"] = figures.variance_argument(
            self.trace[q],
            self.trace[k],
            self.trace[f"{p}.scores"],
            self.trace[f"{p}.scaled"],
        )
        sec.extra["inputs"] = (q, k)
        sec.extra["d_k"] = self.cfg.d_k
        sec.extra["sqrt_d_k"] = math.sqrt(self.cfg.d_k)

    def _mask(self, sec: Section, stages: list[Stage]) -> None:
        p = sec.stages[0].rsplit(".", 1)[0]
        rows, cols = self._attn_rows(sec)
        stage = self.trace.stage(f"{p}.mask")
        self._matrix(
            sec, f"{p}.mask", _("may attend"), rows=rows, cols=cols, scale="mask"
        )
        self._matrix(sec, f"{p}.masked", _("masked scores"), rows=rows, cols=cols)
        sec.extra["causal"] = stage.op == Op.CAUSAL_MASK
        sec.extra["blocked"] = int((~stage.value).sum())

    def _softmax(self, sec: Section, stages: list[Stage]) -> None:
        p = sec.stages[0].rsplit(".", 1)[0]
        rows, cols = self._attn_rows(sec)
        self._matrix(
            sec, f"{p}.weights", _("weights"), rows=rows, cols=cols, scale="probability"
        )
        w = self.trace[f"{p}.weights"]
        sec.extra["strongest"] = figures.strongest(w, rows, cols)

    def _weighted(self, sec: Section, stages: list[Stage]) -> None:
        p = sec.stages[0].rsplit(".", 1)[0]
        rows, cols = self._attn_rows(sec)
        values = self.trace.stage(f"{p}.heads").inputs[1]  # V (Llama: repeated)
        self._matrix(sec, values, "V", rows=cols)
        self._matrix(sec, f"{p}.heads", "weights · V", rows=rows)

    def _concat(self, sec: Section, stages: list[Stage]) -> None:
        p = sec.stages[0].rsplit(".", 1)[0]
        concat = self.trace[f"{p}.concat"]
        cols = [
            f"{h}·{c}" for h in range(self.cfg.n_heads) for c in range(self.cfg.d_v)
        ]
        self._matrix(
            sec,
            f"{p}.concat",
            "Concat(heads)",
            cols=cols if len(cols) == concat.shape[-1] else None,
        )
        sec.extra["weights"] = [
            self._tab(
                f"{p}.w_o",
                self.trace[f"{p}.w_o"],
                cols if len(cols) == concat.shape[-1] else indices(concat.shape[-1]),
                indices(self.cfg.d_model),
                caption="W_O",
            )
        ]
        bias = self.trace.params.get(f"{p}.b_o")
        sec.extra["bias"] = bias is None or bool(np.any(bias))  # SmolLM2: none
        self._matrix(sec, f"{p}.out", "· W_O + b_O" if sec.extra["bias"] else "· W_O")

    def _addnorm(self, sec: Section, stages: list[Stage]) -> None:
        for s in stages:
            caption = "x + Sublayer(x)" if s.op == Op.ADD else "LayerNorm"
            self._matrix(sec, s.name, caption)
        sec.extra["inputs"] = {s.name: list(s.inputs) for s in stages}
        norm = next((s for s in stages if s.op == Op.LAYER_NORM), None)
        if norm is not None:
            sec.extra["row_stats"] = figures.row_stats(self.trace[norm.inputs[0]])

    _norm = _addnorm
    _residual = _addnorm

    def _ffn(self, sec: Section, stages: list[Stage]) -> None:
        for s in stages:
            caption = OPS[s.op].caption  # "x W + b", "ReLU", "GELU"
            if s.name.endswith(".out"):
                caption = "· W₂ + b₂"
            elif s.op == Op.LINEAR:
                caption = "x W₁ + b₁"
            self._matrix(sec, s.name, caption)
        act = self.trace[f"{sec.stack}.0.ffn.activation"]
        sec.extra["zeros"] = int((act == 0).sum())
        sec.extra["size"] = int(act.size)

    def _layer(self, sec: Section, stages: list[Stage]) -> None:
        sec.extra["stages"] = [
            {
                "name": s.name,
                "op": str(s.op),
                "shape": shape_text(s.shape),
                "verdict": self.checks.verdict([s.name]),
            }
            for s in stages
        ]
        self._matrix(sec, stages[-1].name, _("output of the layer"))

    def _vocab_columns(self, caption: str) -> tuple[str, list[int] | None]:
        """For a (T, V) table: the columns of the most probable next tokens at the
        last position when V is too wide to show, with the caption saying so."""
        if len(self.words) <= MAX_COLS or "output.probs" not in self.trace:
            return caption, None
        top = np.argsort(-self.trace["output.probs"][-1], kind="stable")[:TOP_K]
        return _("{caption}: the columns of the {n} likeliest next tokens").format(
            caption=caption, n=TOP_K
        ), [int(i) for i in top]

    def _logits(self, sec: Section, stages: list[Stage]) -> None:
        toks = self.tokens("decoder" if self.cfg.has_decoder else "encoder")
        caption, columns = self._vocab_columns("h Eᵀ")
        self._matrix(
            sec, "output.logits", caption, rows=toks, cols=self.words, columns=columns
        )
        sec.extra["input"] = stages[0].inputs[0]
        sec.extra["tied"] = "embedding" in stages[0].inputs

    def _probs(self, sec: Section, stages: list[Stage]) -> None:
        toks = self.tokens("decoder" if self.cfg.has_decoder else "encoder")
        probs = self.trace["output.probs"]
        sec.extra["bars"] = figures.bars(probs[-1], self.words, TOP_K)
        sec.extra["position"] = len(toks) - 1
        sec.extra["last_token"] = toks[-1]
        sec.extra["top"] = figures.top_k(probs, self.words, toks, 3)
        sec.extra["byte_level"] = self.words.byte_level
        caption, columns = self._vocab_columns("softmax(logits)")
        self._matrix(
            sec,
            "output.probs",
            caption,
            rows=toks,
            cols=self.words,
            scale="probability",
            columns=columns,
        )

    def _prediction(self, sec: Section, stages: list[Stage]) -> None:
        toks = self.tokens("decoder" if self.cfg.has_decoder else "encoder")
        pred = [int(i) for i in self.trace["output.prediction"]]
        probs = self.trace["output.probs"]
        sec.extra["rows"] = [
            {
                "position": t,
                "token": toks[t],
                "id": i,
                "predicted": self.words[i],
                "p": float(probs[t, i]),
                "next": toks[t + 1] if t + 1 < len(toks) else "",
            }
            for t, i in enumerate(pred)
        ]
        sec.extra["answer"] = self.words[pred[-1]]
        sec.extra["encoder_decoder"] = self.cfg.architecture == "encoder-decoder"

    def _other(self, sec: Section, stages: list[Stage]) -> None:
        for s in stages:
            if s.value.ndim <= 3 and s.value.size:
                rows = indices(s.value.shape[-2]) if s.value.ndim >= 2 else [""]
                self._matrix(
                    sec,
                    s.name,
                    rows=rows,
                    scale="mask" if s.value.dtype == bool else "diverging",
                )


def _ranges(numbers: Sequence[int]) -> str:
    """``[4, 5, 6, 8]`` → ``"4–6, 8"``.

    >>> _ranges([4, 5, 6, 8]), _ranges([1])
    ('4–6, 8', '1')
    """
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _head_cols(w: np.ndarray, width: int) -> list[str]:
    """Column labels head·column of a projection whose heads are ``width`` wide."""
    n_heads = w.shape[1] // width
    if width * n_heads != w.shape[1]:
        return indices(w.shape[1])
    return [f"{h}·{c}" for h in range(n_heads) for c in range(width)]
