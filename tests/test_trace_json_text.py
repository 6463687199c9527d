"""trace_json.dumps and dump_bytes write the text piece by piece, for speed; the
bytes must be those of the standard library's encoder on the plain objects of
to_dict (the reference), for every kind of trace: float64 and float32, masked
(−∞) scores, packed arrays, trained weights, a pretrained model without params,
and the remembered text of a parameter given other numbers."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json

import pytest

from explainer import ModelConfig, trace_json, trace_sentence
from explainer.trace import Trace

SENTENCE = "When you play game of thrones"


def reference(trace: Trace) -> str:
    data = trace_json.to_dict(trace)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert trace_json.dump_bytes(trace) == text.encode("utf-8")
    return text


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("architecture", ["encoder", "decoder", "encoder-decoder"])
def test_dumps_is_the_encoders_text(architecture, dtype):
    trace = trace_sentence(
        ModelConfig(architecture=architecture, dtype=dtype), SENTENCE
    )
    assert trace_json.dumps(trace) == reference(trace)


def test_dumps_of_trained_weights_and_a_target():
    from explainer.cli.options import _option_keys, build_setup

    raw = dict.fromkeys(_option_keys()) | {"sentence": "you win", "target": "你 赢"}
    trace = build_setup(raw).run()
    assert trace.weights
    params = trace_json.to_dict(trace)["params"].values()
    assert any(isinstance(v, dict) for v in params)  # a packed embedding
    assert trace_json.dumps(trace) == reference(trace)
    assert "-inf" in trace_json.dumps(trace)  # the decoder's masked scores


def test_a_parameter_with_other_numbers_is_written_anew():
    trace = trace_sentence(ModelConfig(n_layers=1), SENTENCE)
    first = trace_json.dumps(trace)  # its parameters' text is remembered
    changed = dict(trace.params)
    changed["encoder.0.norm1.gamma"] = trace.params["encoder.0.norm1.gamma"] + 0.5
    other = dataclasses.replace(trace, params=changed)
    assert trace_json.dumps(other) == reference(other) != first
    assert trace_json.dumps(trace) == first


@pytest.mark.parametrize("name", ["smollm2", "minilm"])
def test_dumps_of_a_pretrained_model(name):
    from explainer.models import trace_model

    module = importlib.import_module(f"explainer.models.{name}")
    if importlib.util.find_spec(module.MODULE) is None:
        pytest.skip(f"model package missing: {module.INSTALL}")
    trace = trace_model(name, "The cat sat")
    assert trace_json.dumps(trace) == reference(trace)
