"""The backward pass: the recorded forward stages walked in reverse, each stage's
gradient passed to its inputs by the rule of its op (:mod:`explainer.backward.rules`).

Reads the trace's values, never runs the forward pass again. Stage names:

- ``backward.labels`` (``labels``): the token each position must predict;
  ``backward.loss`` (``cross_entropy``): the mean cross-entropy, a number;
- ``backward.X`` for a forward stage or parameter X: ∂L/∂X, the shape of X
  (``backward.output.logits`` first, ``backward.embedding`` last);
- ``backward.X@Y``: the part of ∂L/∂X that comes through stage Y, when X is read
  by several stages (a residual stream, the encoder output, the query/key/value
  projections' common input, the tied embedding); ``backward.X`` is then their
  sum (``grad_sum``).

Stages without a gradient: ids, one-hot rows, masks, PE (constants),
``output.probs`` and ``output.prediction`` (the loss is differentiated with its
softmax: ∂L/∂logits = (p − y)/T).
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np

from explainer.backward.rules import RULES, Context, evaluate
from explainer.tokenizer import EOS
from explainer.trace import Op, Stage, Trace, freeze

PREFIX = "backward."


def context(trace: Trace) -> Context:
    """The sizes the backward ops of ``trace`` need."""
    cfg = trace.config
    if EOS not in trace.vocab:
        raise ValueError(
            f"the vocabulary has no {EOS}, the label after the last word; "
            "a toy model's tokenizer always adds it"
        )
    return Context(
        n_heads=cfg.n_heads,
        d_k=cfg.d_k,
        d_model=cfg.d_model,
        eps=cfg.eps,
        eos_id=trace.vocab.index(EOS),
        shift=cfg.architecture != "encoder",
    )


def backward_stages(trace: Trace) -> tuple[Stage, ...]:
    """The ``backward.*`` stages of a toy model's trace, in the order computed."""
    if trace.config.model:
        raise ValueError(
            f"the backward pass is for the toy models, not the pretrained "
            f"{trace.config.model}; drop --model (or --backward)"
        )
    if any(s.name.startswith(PREFIX) for s in trace.stages):
        raise ValueError("the trace already holds backward stages")
    ctx = context(trace)
    ids = "decoder.embed.ids" if ctx.shift else "encoder.embed.ids"
    loss_in = ("output.probs", f"{PREFIX}labels")
    start = (
        (f"{PREFIX}labels", Op.LABELS, (ids,)),
        (f"{PREFIX}loss", Op.CROSS_ENTROPY, loss_in),
        (f"{PREFIX}output.logits", Op.CROSS_ENTROPY_BACKWARD, loss_in),
    )
    steps = start + _plan(_layout(trace), frozenset())
    out: list[Stage] = []
    _execute(trace, ctx, steps, {}, {}, out)
    return tuple(out)


def parameter_gradients(
    trace: Trace,
    d_logits: np.ndarray,
    extra: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """∂L/∂(every parameter) from ∂L/∂logits, by the same rules as
    :func:`backward_stages` (training: the loss, e.g. a padded batch's, is the
    caller's). ``extra`` adds a loss term's own gradient at a stage (an
    alignment loss on attention weights). A parameter the loss does not depend
    on gets zeros."""
    extra = extra or {}
    values = {f"{PREFIX}output.logits": np.asarray(d_logits)}
    steps = _plan(_layout(trace), frozenset(extra))
    _execute(trace, context(trace), steps, extra, values, None)
    out = {}
    for name, value in trace.params.items():
        key = f"{PREFIX}{name}"
        out[name] = values[key] if key in values else np.zeros_like(value)
    return out


def with_backward(trace: Trace) -> Trace:
    """``trace`` with its backward stages appended."""
    return trace.with_stages(trace.stages + backward_stages(trace))


# The walk depends only on the trace's layout (each stage's name, op and inputs,
# and the parameters' names), not on its numbers: it is planned once per layout
# and kept, so that training, which walks the same layout every step, plans once.

Layout = tuple[tuple[tuple[str, Op, tuple[str, ...]], ...], tuple[str, ...]]
Step = tuple[str, Op | None, tuple[str, ...]]
"""(backward stage, its op, the names it reads); op None: add ``extra[name]``
(a loss term's own gradient) to ``backward.name``."""


def _layout(trace: Trace) -> Layout:
    stages = tuple((s.name, s.op, s.inputs) for s in trace.stages)
    return stages, tuple(trace.params)


def _execute(
    trace: Trace,
    ctx: Context,
    steps: tuple[Step, ...],
    extra: dict[str, np.ndarray],
    values: dict[str, np.ndarray],
    out: list[Stage] | None,
) -> None:
    """Evaluate ``steps`` in order into ``values``; each as a read-only Stage
    appended to ``out`` unless it is None."""
    for name, op, inputs in steps:
        if op is None:
            key = f"{PREFIX}{name}"
            values[key] = values[key] + extra[name]
            continue
        arrays = [values[n] if n in values else trace[n] for n in inputs]
        value = evaluate(op, arrays, ctx)
        if out is not None:
            value = freeze(value)
            out.append(Stage(name, op, inputs, value))
        values[name] = value


@functools.lru_cache(maxsize=32)
def _plan(layout: Layout, extra: frozenset[str]) -> tuple[Step, ...]:
    """The steps from ``backward.output.logits`` (given) back to the weights."""
    return tuple(_Planner(layout, extra).propagate())


class _Planner:
    def __init__(self, layout: Layout, extra: frozenset[str]) -> None:
        self.stages, self.params = layout
        self.extra = extra
        self.steps: list[Step] = []
        self.needs = self._needs_grad()
        self.uses = self._count_uses()
        self.parts: dict[str, list[str]] = {}  # X → names of its partial gradients

    def _needs_grad(self) -> set[str]:
        """Parameters, and the stages computed from them by a differentiable op."""
        needs = set(self.params)
        for name, op, inputs in self.stages:
            rules = RULES.get(op, {})
            if any(inputs[i] in needs for i in rules):
                needs.add(name)
        return needs

    def _edges(self, op: Op, inputs: tuple[str, ...]) -> list[tuple[int, str]]:
        """(position, input name) of the inputs a stage passes a gradient to."""
        rules = RULES.get(op, {})
        return [(i, inputs[i]) for i in rules if inputs[i] in self.needs]

    def _count_uses(self) -> Counter[str]:
        """How many gradients reach each name, from ``output.logits`` back."""
        reached, uses = {"output.logits"}, Counter[str]()
        for name, op, inputs in reversed(self.stages):
            if name in reached:
                for _, read in self._edges(op, inputs):
                    uses[read] += 1
                    reached.add(read)
        return uses

    def propagate(self) -> list[Step]:
        for name, op, inputs in reversed(self.stages):
            if name == "output.logits" or self.uses[name]:
                self._finish(name)
                if name in self.extra:
                    self.steps.append((name, None, ()))
                self._pass_back(name, op, inputs)
        for name in self.params:
            if self.uses[name]:
                self._finish(name)
        return self.steps

    def _finish(self, name: str) -> None:
        """Sum the partial gradients of a name read several times."""
        if self.uses[name] > 1:
            self.steps.append((f"{PREFIX}{name}", Op.GRAD_SUM, tuple(self.parts[name])))

    def _pass_back(self, stage: str, op: Op, inputs: tuple[str, ...]) -> None:
        """One backward step for each input of ``stage`` that needs a gradient."""
        words = {"dy": f"{PREFIX}{stage}", "out": stage}
        words.update({f"in{i}": name for i, name in enumerate(inputs)})
        for position, name in self._edges(op, inputs):
            rule_op, reads = RULES[op][position]
            names: list[str] = []
            for word in reads:
                names += list(inputs[1:]) if word == "masks" else [words[word]]
            target = f"{PREFIX}{name}"
            if self.uses[name] > 1:
                target = f"{PREFIX}{name}@{stage}"
                self.parts.setdefault(name, []).append(target)
            self.steps.append((target, rule_op, tuple(names)))
