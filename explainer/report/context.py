"""A :class:`~explainer.trace.Trace` and its verification results as the plain data
the report template renders: parts (encoder, decoder, output) of sections in
forward order, the architecture diagram, and the attention views' data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from explainer.i18n import N_, _
from explainer.report import diagram
from explainer.report.checks import Checks
from explainer.report.derivations import step_counts
from explainer.report.grouping import group_stages
from explainer.report.sampling import sampling_view
from explainer.report.sections import Section
from explainer.report.tables import exact, number, share_scale
from explainer.report.variants import VariantBuilder
from explainer.report.views import attention_views
from explainer.trace import Op, Trace
from explainer.verify import CheckResult
from explainer.wording import shown

_PART_TITLES = {
    "encoder": N_("Encoder"),
    "decoder": N_("Decoder"),
    "output": N_("Output"),
}
_NODE_LABELS = {
    "tokens": N_("Tokens"),
    "embedding": N_("Embedding: one-hot × E"),
    "positional": N_("+ Positional encoding"),
    "learned": N_("+ Learned positions, LayerNorm"),
    "pooling": N_("Mean pooling, unit length"),
    "addnorm": N_("Add & Norm"),
    "norm": N_("LayerNorm"),
    "residual": N_("Add (residual)"),
    "ffn": N_("Feed forward"),
    "rms-norm": N_("RMSNorm"),
    "rope-angles": N_("RoPE angles θ = m·ω_i"),
    "swiglu": N_("SwiGLU feed forward"),
    "logits": N_("Linear: h Eᵀ (logits)"),
    "probs": N_("Softmax"),
    "prediction": N_("Predicted token"),
}


@dataclass
class Part:
    id: str
    title: str
    number: int
    sections: list[Section] = field(default_factory=list)


def build_context(trace: Trace, results: Iterable[CheckResult]) -> dict[str, Any]:
    """Everything ``report.html.j2`` renders; plain data, no HTML."""
    checks = Checks(results)
    builder = VariantBuilder(trace, checks)
    sections = [builder.section(g) for g in group_stages(trace)]
    for sec in sections:  # matrices shown side by side share one colour scale
        sec.tables = share_scale(sec.tables)
        if "weights" in sec.extra:
            sec.extra["weights"] = share_scale(sec.extra["weights"])
    used: dict[str, int] = {}
    for sec in sections:  # a section id must be unique even if a stage group repeats
        used[sec.id] = used.get(sec.id, 0) + 1
        if used[sec.id] > 1:
            sec.id = f"{sec.id}-{used[sec.id]}"
    parts: list[Part] = []
    for sec in sections:
        if not parts or parts[-1].id != sec.stack:
            title = _(_PART_TITLES.get(sec.stack, sec.stack))
            if sec.stack == "decoder" and not trace.config.has_encoder:
                title = _("Decoder (the whole model)")
            parts.append(Part(sec.stack, title, len(parts) + 1))
        part = parts[-1]
        part.sections.append(sec)
        sec.number = f"{part.number}.{len(part.sections)}"
    cfg = trace.config
    precision = [r for r in checks.results if r.check == "precision" and not r.skipped]
    redo = next(
        (_redone(r.formula) for r in checks.results if r.check == "precision"),
        _redone(""),
    )
    return {
        "sentence": trace.source.text,
        "target": None if trace.target is None else trace.target.text,
        "config": cfg.to_dict(),
        "weights": trace.weights,  # "": random, from the seed; shown |weights
        "kv_heads": _kv_heads(trace),
        "vocab_size": len(trace.vocab),
        "prediction": trace.prediction if "output.prediction" in trace else None,
        "parts": parts,
        "diagram": diagram.layout(_nodes(sections, trace), cfg.n_layers),
        "views": attention_views(trace),
        "sampling": sampling_view(trace),  # the sampling panel; None: no logits
        "summary": checks.summary,
        "total_checks": len(checks.results),
        "redo": redo,
        "precision": [
            {
                "what": _redone(r.formula),
                "ok": r.ok,
                "error": number(r.max_abs_err),
                "exact": exact(r.max_abs_err),
                "tol": f"{r.tol:.0e}",
                "detail": shown(r.detail),
            }
            for r in precision
        ],
        "proved": [
            {"name": name, **vars(checks.proof(name))} for name in _derivations(parts)
        ],
        "proofs": {name: checks.proof(name) for name in _derivations(parts)},
        "step_counts": step_counts(_derivations(parts)),
        "stage_count": len(trace.stages),
    }


def _kv_heads(trace: Trace) -> int | None:
    """The number of key/value heads of a grouped-query attention, else None."""
    repeat = trace.find(Op.REPEAT_KV)
    return int(trace[repeat[0].inputs[0]].shape[0]) if repeat else None


def _derivations(parts: list[Part]) -> list[str]:
    names: dict[str, None] = {}
    for part in parts:
        for sec in part.sections:
            for ex in sec.derivations:
                names.setdefault(ex.view.name, None)
    return list(names)


def _nodes(sections: list[Section], trace: Trace) -> list[diagram.Node]:
    nodes: list[diagram.Node] = []
    seen_attn: set[tuple[str, str]] = set()
    for sec in sections:
        status = sec.verdict.status if sec.verdict else "none"
        if sec.kind in ("layer", "other"):
            continue
        if sec.attn:
            if (sec.stack, sec.attn) in seen_attn:
                continue
            seen_attn.add((sec.stack, sec.attn))
            label = {
                "self_attn": N_("Masked multi-head self-attention")
                if sec.stack == "decoder"
                else N_("Multi-head self-attention"),
                "cross_attn": N_("Cross-attention (K, V: encoder)"),
            }[sec.attn]
            if trace.find(Op.REPEAT_KV):  # Llama: grouped-query attention, RoPE
                label = label.replace("multi-head", "GQA") + " + RoPE"
            label = _(label)  # the labels above, and _GQA_LABELS
            status = _attention_status(sections, sec)
            nodes.append(
                diagram.Node(
                    sec.stack,
                    label,
                    f"#{sec.id}",
                    status,
                    True,
                    cross=sec.attn == "cross_attn",
                )
            )
            continue
        label = _(_NODE_LABELS[sec.kind]) if sec.kind in _NODE_LABELS else sec.title
        if sec.kind == "tokens":
            label = (
                _("Target tokens (<bos> first)")
                if sec.extra.get("is_target")
                else _("Input tokens")
            )
        if sec.layer is None and sec.kind in ("norm", "rms-norm"):
            label = _("Final {title}").format(title=label)
        nodes.append(
            diagram.Node(sec.stack, label, f"#{sec.id}", status, sec.layer == 0)
        )
    return nodes


def _attention_status(sections: list[Section], first: Section) -> str:
    statuses = {
        s.verdict.status
        for s in sections
        if s.verdict
        and s.stack == first.stack
        and s.attn == first.attn
        and s.layer == first.layer
    }
    return "fail" if "fail" in statuses else "ok" if "ok" in statuses else "none"


def _redone(formula: str) -> str:
    """What the precision check redid, for a learner: the toy's whole pass at 50
    digits, or a pretrained model's stages one at a time in float64."""
    if formula.startswith("each stage in float64"):
        return _("each stage redone in float64 from its recorded float32 inputs")
    return _("the whole pass redone at 50 significant digits")


_GQA_LABELS = (  # a Llama model's attention labels (see _nodes), for the catalog
    N_("Masked GQA self-attention + RoPE"),
    N_("GQA self-attention + RoPE"),
)
