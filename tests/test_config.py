import re

import pytest

from explainer.config import ModelConfig, from_dict, load_toml


def test_defaults_follow_the_paper_conventions():
    cfg = ModelConfig()
    assert cfg.d_k == cfg.d_model // cfg.n_heads == cfg.d_v
    assert cfg.norm == "post" and cfg.activation == "relu" and cfg.scale_embeddings


def test_head_width_may_differ_from_d_model_over_h():
    cfg = ModelConfig(d_model=5, n_heads=1, d_k=3, d_v=3)
    assert (cfg.d_k, cfg.d_v) == (3, 3)


def test_config_is_frozen():
    cfg = ModelConfig()
    with pytest.raises(AttributeError):
        cfg.d_model = 16  # type: ignore[misc]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"d_model": 7, "n_heads": 2}, "n_heads (2) must divide d_model (7)"),
        ({"d_model": 0}, "d_model (0) must be > 0"),
        ({"n_layers": -1}, "n_layers (-1) must be > 0"),
        ({"d_ff": 2.5}, "d_ff must be a whole number, not 2.5"),
        ({"architecture": "gpt"}, "architecture 'gpt' is not one of"),
        ({"norm": "mid"}, "norm 'mid' is not one of: post, pre"),
        ({"activation": "tanh"}, "activation 'tanh' is not one of"),
        ({"dtype": "float16"}, "dtype 'float16' is not one of"),
        ({"d_k": 0}, "d_k (0) must be > 0"),
        ({"scale_embeddings": "yes"}, "scale_embeddings must be true or false"),
        ({"eps": 0}, "eps (0) must be > 0"),
        ({"seed": -3}, "seed (-3) must be >= 0"),
        ({"n_heads": True}, "n_heads must be a whole number"),
    ],
)
def test_bad_values_are_named(values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        from_dict(values)


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match="unknown config key 'heads'"):
        from_dict({"heads": 2})


def test_dashes_in_keys_are_accepted():
    assert from_dict({"d-model": 6, "n-heads": 3}).d_k == 2


def test_replace_validates_again():
    with pytest.raises(ValueError, match="n_heads"):
        ModelConfig().replace(n_heads=0)
    assert ModelConfig().replace(seed=5).seed == 5


def test_toml_file_top_level_and_model_table(tmp_path):
    flat = tmp_path / "flat.toml"
    flat.write_text('architecture = "decoder"\nd_model = 6\nn_heads = 3\n')
    assert from_dict(load_toml(flat)).architecture == "decoder"
    table = tmp_path / "table.toml"
    table.write_text("[model]\nd_model = 10\nn_heads = 5\n")
    assert from_dict(load_toml(table)).d_k == 2


def test_toml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("d_model = = 3\n")
    with pytest.raises(ValueError, match=r"bad\.toml.*not valid TOML"):
        load_toml(bad)
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        load_toml(tmp_path / "missing.toml")
