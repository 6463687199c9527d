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
    walk = _Walk(trace, context(trace))
    return walk.run()


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
    walk = _Walk(trace, context(trace), extra or {})
    walk.values[f"{PREFIX}output.logits"] = np.asarray(d_logits)
    walk.propagate()
    return {
        name: walk.values.get(f"{PREFIX}{name}", np.zeros_like(value))
        for name, value in trace.params.items()
    }


def with_backward(trace: Trace) -> Trace:
    """``trace`` with its backward stages appended."""
    return trace.with_stages(trace.stages + backward_stages(trace))


class _Walk:
    def __init__(
        self, trace: Trace, ctx: Context, extra: dict[str, np.ndarray] | None = None
    ) -> None:
        self.trace = trace
        self.ctx = ctx
        self.extra = extra or {}
        self.out: list[Stage] = []
        self.values: dict[str, np.ndarray] = {}
        self.needs = self._needs_grad()
        self.uses = self._count_uses()
        self.parts: dict[str, list[str]] = {}  # X → names of its partial gradients

    def _needs_grad(self) -> set[str]:
        """Parameters, and the stages computed from them by a differentiable op."""
        needs = set(self.trace.params)
        for stage in self.trace.stages:
            rules = RULES.get(stage.op, {})
            if any(stage.inputs[i] in needs for i in rules):
                needs.add(stage.name)
        return needs

    def _edges(self, stage: Stage) -> list[tuple[int, str]]:
        """(position, input name) of the inputs ``stage`` passes a gradient to."""
        rules = RULES.get(stage.op, {})
        return [(i, stage.inputs[i]) for i in rules if stage.inputs[i] in self.needs]

    def _count_uses(self) -> Counter[str]:
        """How many gradients reach each name, from ``output.logits`` back."""
        reached, uses = {"output.logits"}, Counter[str]()
        for stage in reversed(self.trace.stages):
            if stage.name in reached:
                for _, name in self._edges(stage):
                    uses[name] += 1
                    reached.add(name)
        return uses

    def record(self, name: str, op: Op, inputs: tuple[str, ...]) -> None:
        arrays = [self.values[n] if n in self.values else self.trace[n] for n in inputs]
        value = freeze(evaluate(op, arrays, self.ctx))
        self.values[name] = value
        self.out.append(Stage(name, op, inputs, value))

    def run(self) -> tuple[Stage, ...]:
        ids = "decoder.embed.ids" if self.ctx.shift else "encoder.embed.ids"
        loss_in = ("output.probs", f"{PREFIX}labels")
        self.record(f"{PREFIX}labels", Op.LABELS, (ids,))
        self.record(f"{PREFIX}loss", Op.CROSS_ENTROPY, loss_in)
        self.record(f"{PREFIX}output.logits", Op.CROSS_ENTROPY_BACKWARD, loss_in)
        return self.propagate()

    def propagate(self) -> tuple[Stage, ...]:
        """From ``backward.output.logits`` (already recorded) back to the weights."""
        for stage in reversed(self.trace.stages):
            if stage.name == "output.logits" or self.uses[stage.name]:
                self._finish(stage.name)
                if stage.name in self.extra:
                    key = f"{PREFIX}{stage.name}"
                    self.values[key] = self.values[key] + self.extra[stage.name]
                self._pass_back(stage)
        for name in self.trace.params:
            if self.uses[name]:
                self._finish(name)
        return tuple(self.out)

    def _finish(self, name: str) -> None:
        """Sum the partial gradients of a name read several times."""
        if self.uses[name] > 1:
            self.record(f"{PREFIX}{name}", Op.GRAD_SUM, tuple(self.parts[name]))

    def _pass_back(self, stage: Stage) -> None:
        """One backward stage for each input of ``stage`` that needs a gradient."""
        words = {"dy": f"{PREFIX}{stage.name}", "out": stage.name}
        words.update({f"in{i}": name for i, name in enumerate(stage.inputs)})
        for position, name in self._edges(stage):
            op, reads = RULES[stage.op][position]
            inputs: list[str] = []
            for word in reads:
                inputs += list(stage.inputs[1:]) if word == "masks" else [words[word]]
            target = f"{PREFIX}{name}"
            if self.uses[name] > 1:
                target = f"{PREFIX}{name}@{stage.name}"
                self.parts.setdefault(name, []).append(target)
            self.record(target, op, tuple(inputs))
