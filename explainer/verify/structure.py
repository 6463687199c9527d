"""Is a trace complete? The stages, shapes and parameters its config implies.

A trace written by another program is read against the layout that this config
implies (the stage list of :func:`explainer.forward.forward`; only names, ops,
inputs and shapes are used, never its numbers), so that a missing or misshapen
stage gets a message naming it instead of a wrong verdict.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explainer.config import ModelConfig
from explainer.forward import forward
from explainer.i18n import N_, _
from explainer.params import param_shapes
from explainer.trace import Op, Stage, Trace
from explainer.verify.result import CheckResult
from explainer.wording import words


class StructureError(ValueError):
    """Everything missing or misshapen in a trace, one problem a line in
    ``problems``; its message lists them all on one line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        message = (
            problems[0]
            if len(problems) == 1
            else _("{n} problems in the trace:").format(n=len(problems))
            + " "
            + "; ".join(problems)
        )
        super().__init__(message)


def check_structure(trace: Trace) -> tuple[Stage, ...]:
    """Return the layout (the stages the config implies, with their inputs), or
    raise :class:`StructureError` (a ValueError) listing every problem.

    Parameters and token ids come first: without them the layout cannot be made,
    so their problems are all reported before the stages are looked at.
    """
    problems = [*_param_problems(trace), *_token_problems(trace)]
    if trace.config.architecture == "encoder-decoder" and trace.target is None:
        problems.append(_("an encoder-decoder trace needs tokens.target"))
    if problems:
        raise StructureError(problems)
    target = None if trace.target is None else np.array(trace.target.ids)
    if trace.config.architecture != "encoder-decoder":
        target = None
    layout = _layout(trace, target)
    # A missing stage is one problem, not one more for each stage that reads it.
    missing = {want.name for want in layout if want.name not in trace}
    problems = [*_stage_problems(trace, layout), *_order_problems(trace, missing)]
    if problems:
        raise StructureError(problems)
    return layout


def _param_problems(trace: Trace) -> Iterator[str]:
    for name, shape in _expected_params(trace.config, len(trace.vocab)).items():
        if name not in trace.params:
            yield _("parameter {name} is missing (the config needs it)").format(
                name=repr(name)
            )
            continue
        got = tuple(trace.params[name].shape)
        if got != shape:
            yield _("parameter {name} has shape {shape}, expected {expected}").format(
                name=repr(name), shape=list(got), expected=list(shape)
            )


def _token_problems(trace: Trace) -> Iterator[str]:
    vocab = len(trace.vocab)
    for part, tokens in (("source", trace.source), ("target", trace.target)):
        if tokens is not None and not tokens.ids:
            yield _("tokens.{part} has no ids").format(part=part)
        if tokens is not None and any(i < 0 or i >= vocab for i in tokens.ids):
            yield _("tokens.{part} has an id outside the vocabulary (0…{last})").format(
                part=part, last=vocab - 1
            )


def _stage_problems(trace: Trace, layout: tuple[Stage, ...]) -> Iterator[str]:
    for want in layout:
        if want.name not in trace:
            yield _("stage {name} is missing (the config implies it)").format(
                name=repr(want.name)
            )
            continue
        got = trace.stage(want.name)
        if got.op != want.op:
            yield _("stage {name} has op {op}, expected {expected}").format(
                name=repr(want.name), op=repr(str(got.op)), expected=repr(str(want.op))
            )
        elif got.shape != want.shape:
            yield _("stage {name} has shape {shape}, expected {expected}").format(
                name=repr(want.name),
                shape=list(got.shape),
                expected=list(want.shape),
            )


def _order_problems(trace: Trace, missing: set[str]) -> Iterator[str]:
    seen: set[str] = set()
    for stage in trace.stages:
        for name in stage.inputs:
            if name in missing:
                continue
            if name not in trace:
                yield _(
                    "stage {stage} reads {name}, which is neither a stage "
                    "nor a parameter"
                ).format(stage=repr(stage.name), name=repr(name))
            elif name not in seen and name not in trace.params:
                yield _(
                    "stage {stage} reads {name}, which comes after it; "
                    "stages must be in forward order"
                ).format(stage=repr(stage.name), name=repr(name))
        seen.add(stage.name)


def _expected_params(cfg: ModelConfig, vocab: int) -> dict[str, tuple[int, ...]]:
    """The toy model's parameter shapes, or those of the pretrained model named."""
    if cfg.model:
        from explainer.models import load_params

        return {name: tuple(v.shape) for name, v in load_params(cfg.model).items()}
    return param_shapes(cfg, vocab)


def _layout(trace: Trace, target: np.ndarray | None) -> tuple[Stage, ...]:
    """The stages the config implies, from a pass on the trace's own parameters."""
    cfg, params, ids = trace.config, dict(trace.params), np.array(trace.source.ids)
    if cfg.model:
        from explainer.models import layout

        return layout(cfg, params, ids).stages
    return forward(cfg, params, ids, target).stages


def check_inputs(trace: Trace, layout: tuple[Stage, ...]) -> Iterator[CheckResult]:
    """Does every stage read what the layout says it reads?

    The formulas are evaluated on the inputs a stage *names*; a stage that names
    the wrong ones (keys from the decoder instead of the encoder, say) would match
    its formula on them and hide the mistake. One failing row per such stage, or
    one passing row. The two terms of an ``add`` may come in either order.
    """
    wrong = 0
    for want in layout:
        got = trace.stage(want.name).inputs
        same = (
            sorted(got) == sorted(want.inputs)
            if want.op == Op.ADD
            else got == want.inputs
        )
        if not same:
            wrong += 1
            yield CheckResult(
                "structure", INPUTS, want.name, 1.0, 0.0, False,
                detail=words(
                    N_("reads {inputs}, expected {expected}"),
                    inputs=list(got), expected=list(want.inputs),
                ),
            )  # fmt: skip
    if not wrong:
        yield CheckResult("structure", INPUTS, ALL_STAGES, 0.0, 0.0, True)


INPUTS = words(N_("inputs as in the trace format"))
ALL_STAGES = words(N_("all stages"))
