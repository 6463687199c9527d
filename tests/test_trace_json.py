import json

import numpy as np
import pytest

from explainer import trace_json
from explainer.config import ModelConfig
from explainer.run import trace_sentence
from explainer.trace import Op

SENTENCE = "When you play game of thrones"


@pytest.fixture(scope="module", params=["encoder", "decoder", "encoder-decoder"])
def trace(request):
    return trace_sentence(ModelConfig(architecture=request.param), SENTENCE)


def test_round_trip_gives_an_equal_trace(trace):
    again = trace_json.loads(trace_json.dumps(trace))
    assert again == trace
    assert trace_json.dumps(again) == trace_json.dumps(trace)


def test_round_trip_float32_keeps_dtype_and_values():
    t = trace_sentence(ModelConfig(architecture="decoder", dtype="float32"), SENTENCE)
    again = trace_json.loads(trace_json.dumps(t))
    assert again == t
    assert again["decoder.0.self_attn.weights"].dtype == np.float32


def test_documented_top_level_fields(trace):
    data = json.loads(trace_json.dumps(trace))
    assert data["schema"] == trace_json.SCHEMA
    assert set(data) >= {"schema", "config", "tokens", "params", "stages", "vocab"}
    assert data["tokens"]["source"]["tokens"] == SENTENCE.lower().split()
    assert data["config"]["d_k"] == trace.config.d_k
    first = data["stages"][0]
    assert set(first) == {"name", "op", "inputs", "shape", "value"}
    # parameters used are included, so the pass can be recomputed elsewhere
    assert np.array_equal(np.array(data["params"]["embedding"]), trace["embedding"])
    # every input names a stage or a parameter
    names = {s["name"] for s in data["stages"]} | set(data["params"])
    assert all(i in names for s in data["stages"] for i in s["inputs"])


def test_masked_scores_are_written_as_minus_inf_strings():
    t = trace_sentence(ModelConfig(architecture="decoder"), SENTENCE)
    data = json.loads(trace_json.dumps(t))
    masked = next(s for s in data["stages"] if s["name"].endswith("masked"))
    assert masked["value"][0][0][1] == "-inf"
    assert np.isneginf(trace_json.loads(trace_json.dumps(t))[masked["name"]][0, 0, 1])


def _doc(trace):
    return json.loads(trace_json.dumps(trace))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: d.pop("stages"), "missing top-level field 'stages'"),
        (lambda d: d.update(schema="other/9"), "schema 'other/9' is not supported"),
        (lambda d: d["config"].update(d_model=-1), "bad config: d_model"),
        (lambda d: d["stages"][3].update(op="magic"), "unknown op 'magic'"),
        (lambda d: d["stages"][3].update(shape=[1, 2, 3]), "but 'shape' says"),
        (lambda d: d["stages"][3]["value"][0].__setitem__(0, "nan"), "holds NaN"),
        (lambda d: d["stages"][3]["value"][0].pop(), "not a rectangular array"),
        (lambda d: d["stages"][3].pop("value"), "missing field 'value'"),
        (lambda d: d["params"]["embedding"][0].__setitem__(0, "x"), "not numbers"),
    ],
)
def test_malformed_traces_get_a_message_naming_the_problem(trace, breakage, message):
    data = _doc(trace)
    breakage(data)
    with pytest.raises(ValueError, match=message):
        trace_json.loads(json.dumps(data), source="their.json")


def test_not_json_at_all():
    with pytest.raises(ValueError, match=r"their\.json is not valid JSON"):
        trace_json.loads("{nope", source="their.json")


def test_masks_may_be_written_as_zero_one(trace):
    data = _doc(trace)
    for stage in data["stages"]:
        if stage["op"] in (Op.NO_MASK, Op.CAUSAL_MASK):
            stage["value"] = np.array(stage["value"]).astype(int).tolist()
    again = trace_json.loads(json.dumps(data))
    assert again == trace
