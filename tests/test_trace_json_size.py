"""How compactly a trace is written (explainer/trace_json.py): float32 numbers as
their shortest decimal, large float arrays packed as base64 bytes; a 5-token
SmolLM2 trace in at most 20 MB that reads back equal and still verifies."""

import base64
import importlib.util
import json
import re

import numpy as np
import pytest

from explainer import ModelConfig, trace_json, trace_sentence
from explainer.models import smollm2
from explainer.verify import verify

SENTENCE = "When you play game of thrones"


def numbers(node):
    """Every number in parsed JSON (strings and packed arrays left out)."""
    if isinstance(node, list):
        for item in node:
            yield from numbers(item)
    elif isinstance(node, float):
        yield node


def test_float32_numbers_are_their_shortest_decimals():
    trace = trace_sentence(ModelConfig(dtype="float32", n_layers=1), SENTENCE)
    text = trace_json.dumps(trace)
    data = json.loads(text)
    written = [x for s in data["stages"] for x in numbers(s["value"])]
    assert len(written) > 1000
    for x in written:
        digits = re.sub(r"e.*|[-.]", "", repr(x)).strip("0")
        assert len(digits) <= 9  # float32 never needs more (IEEE 754 §5.12.2)
        # exactly NumPy's shortest decimal of that float32 (Dragon4, unique=True)
        assert x == float(np.format_float_scientific(np.float32(x), unique=True))
    again = trace_json.loads(text)
    for stage in trace:
        assert again[stage.name].dtype == stage.value.dtype
        np.testing.assert_array_equal(again[stage.name], stage.value)


def test_large_float_arrays_are_packed_little_endian():
    cfg = ModelConfig(dtype="float32", d_model=192, n_heads=2, d_ff=256, n_layers=1)
    trace = trace_sentence(cfg, SENTENCE)
    data = trace_json.to_dict(trace)
    packed = {
        s["name"]: s["value"] for s in data["stages"] if isinstance(s["value"], dict)
    }
    big = {s.name for s in trace if s.value.dtype.kind == "f" and s.value.size > 1024}
    assert big and set(packed) == big
    for name, value in packed.items():
        assert set(value) == {"shape", "float32"}
        raw = np.frombuffer(base64.b64decode(value["float32"]), "<f4")
        np.testing.assert_array_equal(
            raw.reshape(value["shape"]), trace[name]
        )  # the bytes, read back by hand
    assert trace_json.loads(trace_json.dumps(trace)) == trace


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda v: {**v, "float32": v["float32"][:-8]}, "do not fill shape"),
        (lambda v: {**v, "float32": "not base64!"}, "is not base64"),
        (lambda v: {**v, "shape": [2, "x"]}, "must be a list of sizes"),
        (lambda v: {"shape": v["shape"], "int8": v["float32"]}, "a packed array is"),
        (lambda v: {**v, "float64": v["float32"]}, "a packed array is"),
    ],
)
def test_a_bad_packed_array_is_named(spoil, message):
    cfg = ModelConfig(dtype="float32", d_model=192, n_heads=2, d_ff=256, n_layers=1)
    data = trace_json.to_dict(trace_sentence(cfg, SENTENCE))
    stage = next(s for s in data["stages"] if isinstance(s["value"], dict))
    stage["value"] = spoil(stage["value"])
    with pytest.raises(ValueError, match=message) as err:
        trace_json.from_dict(data)
    assert repr(stage["name"]) in str(err.value)


def test_nan_in_a_packed_array_is_refused():
    cfg = ModelConfig(dtype="float32", d_model=192, n_heads=2, d_ff=256, n_layers=1)
    data = trace_json.to_dict(trace_sentence(cfg, SENTENCE))
    stage = next(s for s in data["stages"] if isinstance(s["value"], dict))
    values = np.frombuffer(base64.b64decode(stage["value"]["float32"]), "<f4").copy()
    values[3] = np.nan
    stage["value"]["float32"] = base64.b64encode(values.tobytes()).decode()
    with pytest.raises(ValueError, match="holds NaN"):
        trace_json.from_dict(data)


@pytest.fixture(scope="module")
def smollm2_trace():
    if importlib.util.find_spec(smollm2.MODULE) is None:
        pytest.skip(f"model package missing: {smollm2.INSTALL}")
    from explainer.models import trace_model

    trace = trace_model("smollm2", "The cat sat on the")
    assert len(trace.source.ids) == 5
    return trace


def test_a_five_token_smollm2_trace_is_at_most_20_mb(smollm2_trace):
    text = trace_json.dumps(smollm2_trace)
    assert len(text.encode("utf-8")) <= 20_000_000
    assert trace_json.dumps(smollm2_trace) == text  # deterministic
    assert trace_json.loads(text) == smollm2_trace  # every number exactly


@pytest.mark.slow
def test_the_written_smollm2_trace_still_verifies(smollm2_trace):
    again = trace_json.loads(trace_json.dumps(smollm2_trace))
    results = verify(again, derivations=False)
    assert results and [r for r in results if not r.ok] == []
