"""verify's layout of a pretrained model's trace (explainer.models.layout): the
stages a pass records, remembered from trace_model instead of run twice — the
same names, ops, inputs and shapes as a fresh pass, and a fresh pass whenever
the weights or the config are not those traced."""

import dataclasses
import importlib.util

import numpy as np
import pytest

from explainer.models import layout, load_model, minilm, trace_model
from explainer.verify import verify
from explainer.verify.structure import StructureError

SENTENCE = "The quick brown fox"


@pytest.fixture(scope="module")
def trace():
    if importlib.util.find_spec(minilm.MODULE) is None:
        pytest.skip(f"model package missing: {minilm.INSTALL}")
    return trace_model("minilm", SENTENCE)


def _outline(stages) -> list[tuple]:
    return [(s.name, s.op, s.inputs, s.shape, s.value.dtype) for s in stages]


def test_the_remembered_layout_is_a_fresh_pass_without_numbers(trace):
    ids = np.array(trace.source.ids)
    fresh = load_model("minilm").spec.forward(trace.config, trace.params, ids)
    remembered = layout(trace.config, dict(trace.params), ids)
    assert _outline(remembered.stages) == _outline(fresh.stages)
    assert len(remembered.stages) > 100
    assert all(s.value.nbytes == 0 or s.value.strides == (0,) * s.value.ndim
               for s in remembered.stages)  # fmt: skip
    assert not any(s.value.any() for s in remembered.stages)  # no numbers kept


def test_other_weights_or_config_run_the_pass(trace):
    ids = np.array(trace.source.ids)
    params = dict(trace.params)
    params["embedding"] = params["embedding"] * 2  # not the traced weights
    changed = layout(trace.config, params, ids)
    assert changed.stages[-1].value.any()  # numbers: a pass was run
    eps = dataclasses.replace(trace.config, eps=trace.config.eps * 2)
    assert layout(eps, dict(trace.params), ids).stages[-1].value.any()


def test_a_stage_missing_from_the_trace_is_still_found(trace):
    dropped = trace.stages[5].name
    stages = tuple(s for s in trace.stages if s.name != dropped)
    with pytest.raises(StructureError, match=dropped):
        verify(trace.with_stages(stages), derivations=False, precision=False)
