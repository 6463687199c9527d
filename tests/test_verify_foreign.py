"""``explainer verify --trace`` on a trace written by *another* implementation.

Below is a small Transformer written from scratch in PyTorch (float64; it does not
call explainer.numeric or explainer.forward). It takes the parameters of a trace and
the token ids, runs the model the way a student would, and dumps every stage in the
documented schema (README, "Trace format"). verify must pass it, must name the
stage of a bug put into it, and must turn malformed files into one-line errors.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from cli_run import run

from explainer import trace_json
from explainer.config import ModelConfig
from explainer.run import trace_sentence

torch = pytest.importorskip("torch")
F = torch.nn.functional

SENTENCE = "When you play game of thrones"
F64 = torch.float64


# --- the other implementation -------------------------------------------------------


def as_json(value: Any) -> Any:
    """A tensor as nested lists; −∞ as the string "-inf" (JSON has no infinity)."""
    if value.dtype == torch.bool or not value.is_floating_point():
        return value.tolist()
    items = value.tolist()

    def fix(v: Any) -> Any:
        if isinstance(v, list):
            return [fix(u) for u in v]
        return "-inf" if v == -math.inf else v

    return fix(items)


class TorchTransformer:
    """Vaswani et al. 2017 in a few lines of PyTorch, recording every stage.

    ``bugs`` switches on mistakes: ``"no-sqrt-dk"`` forgets ÷√d_k.
    """

    def __init__(self, config: dict, params: dict, bugs: frozenset[str] = frozenset()):
        self.cfg = config
        self.p = {name: torch.tensor(v, dtype=F64) for name, v in params.items()}
        self.bugs = bugs
        self.stages: list[dict] = []

    def rec(self, name: str, op: str, inputs: list[str], value):
        self.stages.append(
            {
                "name": name,
                "op": op,
                "inputs": inputs,
                "shape": list(value.shape),
                "value": as_json(value),
            }
        )
        return value, name

    # -- blocks --
    def embed(self, prefix: str, ids: list[int]):
        table = self.p["embedding"]
        ids_t, _ = self.rec(f"{prefix}.ids", "token_ids", [], torch.tensor(ids))
        one_hot, _ = self.rec(
            f"{prefix}.one_hot", "one_hot", [f"{prefix}.ids"],
            F.one_hot(ids_t, table.shape[0]).to(F64),
        )  # fmt: skip
        x, name = self.rec(
            f"{prefix}.lookup", "embedding", [f"{prefix}.one_hot", "embedding"],
            one_hot @ table,
        )  # fmt: skip
        d = self.cfg["d_model"]
        if self.cfg["scale_embeddings"]:
            x, name = self.rec(
                f"{prefix}.scaled", "scale_embedding", [name], x * math.sqrt(d)
            )
        pos = torch.arange(len(ids), dtype=F64)[:, None]
        freq = 10000.0 ** (-torch.arange(0, d, 2, dtype=F64) / d)
        pe = torch.zeros(len(ids), d, dtype=F64)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq)[:, : d // 2]
        pe, pe_name = self.rec(f"{prefix}.pe", "positional_encoding", [], pe)
        return self.rec(f"{prefix}.input", "add", [name, pe_name], x + pe)

    def attention(self, p: str, query, memory, causal: bool):
        (x, x_name), (m, m_name) = query, memory
        h, d_k = self.cfg["n_heads"], self.cfg["d_k"]

        def project(which: str, src, src_name: str):
            w, b = self.p[f"{p}.w_{which}"], self.p[f"{p}.b_{which}"]
            y = (src @ w + b).view(src.shape[0], h, -1).transpose(0, 1)
            inputs = [src_name, f"{p}.w_{which}", f"{p}.b_{which}"]
            return self.rec(f"{p}.{which}", "project_heads", inputs, y)[0]

        q = project("q", x, x_name)  # (h, T_q, d_k)
        k = project("k", m, m_name)  # (h, T_k, d_k)
        v = project("v", m, m_name)  # (h, T_k, d_v)
        s, _ = self.rec(
            f"{p}.scores", "qk", [f"{p}.q", f"{p}.k"], q @ k.transpose(1, 2)
        )
        scaled = s if "no-sqrt-dk" in self.bugs else s / math.sqrt(d_k)
        s, _ = self.rec(f"{p}.scaled", "scale", [f"{p}.scores"], scaled)
        allowed = torch.ones(q.shape[1], k.shape[1], dtype=torch.bool)
        if causal:
            allowed = allowed.tril()
        op = "causal_mask" if causal else "no_mask"
        self.rec(f"{p}.mask", op, [], allowed)
        s, _ = self.rec(
            f"{p}.masked", "apply_mask", [f"{p}.scaled", f"{p}.mask"],
            s.masked_fill(~allowed, -math.inf),
        )  # fmt: skip
        a, _ = self.rec(f"{p}.weights", "softmax", [f"{p}.masked"], s.softmax(dim=-1))
        o, _ = self.rec(f"{p}.heads", "attend", [f"{p}.weights", f"{p}.v"], a @ v)
        c, _ = self.rec(
            f"{p}.concat", "concat_heads", [f"{p}.heads"],
            o.transpose(0, 1).reshape(o.shape[1], -1),
        )  # fmt: skip
        return self.rec(
            f"{p}.out", "linear", [f"{p}.concat", f"{p}.w_o", f"{p}.b_o"],
            c @ self.p[f"{p}.w_o"] + self.p[f"{p}.b_o"],
        )  # fmt: skip

    def ffn(self, p: str, x):
        hidden, _ = self.rec(
            f"{p}.hidden", "linear", [x[1], f"{p}.w_1", f"{p}.b_1"],
            x[0] @ self.p[f"{p}.w_1"] + self.p[f"{p}.b_1"],
        )  # fmt: skip
        act = self.cfg["activation"]
        a = F.relu(hidden) if act == "relu" else F.gelu(hidden)  # exact erf GELU
        self.rec(f"{p}.activation", act, [f"{p}.hidden"], a)
        return self.rec(
            f"{p}.out", "linear", [f"{p}.activation", f"{p}.w_2", f"{p}.b_2"],
            a @ self.p[f"{p}.w_2"] + self.p[f"{p}.b_2"],
        )  # fmt: skip

    def norm(self, name: str, x):
        value = F.layer_norm(
            x[0], (self.cfg["d_model"],), self.p[f"{name}.gamma"],
            self.p[f"{name}.beta"], self.cfg["eps"],
        )  # fmt: skip
        return self.rec(
            name, "layer_norm", [x[1], f"{name}.gamma", f"{name}.beta"], value
        )

    def sublayer(self, prefix: str, n: int, x, body):
        if self.cfg["norm"] == "post":
            out = body(x)
            r = self.rec(f"{prefix}.residual{n}", "add", [x[1], out[1]], x[0] + out[0])
            return self.norm(f"{prefix}.norm{n}", r)
        out = body(self.norm(f"{prefix}.norm{n}", x))
        return self.rec(f"{prefix}.residual{n}", "add", [x[1], out[1]], x[0] + out[0])

    # -- the model --
    def stack(self, name: str, ids: list[int], memory=None):
        x = self.embed(f"{name}.embed", ids)
        for layer in range(self.cfg["n_layers"]):
            p = f"{name}.{layer}"
            causal = name == "decoder"

            def self_attn(y, p=p, causal=causal):
                return self.attention(f"{p}.self_attn", y, y, causal)

            def cross_attn(y, p=p):
                return self.attention(f"{p}.cross_attn", y, memory, False)

            x = self.sublayer(p, 1, x, self_attn)
            n = 2
            if memory is not None:
                x = self.sublayer(p, 2, x, cross_attn)
                n = 3
            x = self.sublayer(p, n, x, lambda y, p=p: self.ffn(f"{p}.ffn", y))
        if self.cfg["norm"] == "pre":
            x = self.norm(f"{name}.norm", x)
        return x

    def run(self, source: list[int], target: list[int] | None) -> list[dict]:
        arch = self.cfg["architecture"]
        if arch == "decoder":
            out = self.stack("decoder", source)
        else:
            out = self.stack("encoder", source)
            if arch == "encoder-decoder":
                out = self.stack("decoder", target, memory=out)
        logits, _ = self.rec(
            "output.logits",
            "logits",
            [out[1], "embedding"],
            out[0] @ self.p["embedding"].T,
        )
        probs, _ = self.rec(
            "output.probs", "softmax", ["output.logits"], logits.softmax(-1)
        )
        self.rec("output.prediction", "argmax", ["output.probs"], probs.argmax(-1))
        return self.stages


def foreign_trace(cfg: ModelConfig, bugs: frozenset[str] = frozenset()) -> dict:
    """A trace JSON object written by the torch model, on the parameters and
    tokens of ``explainer``'s trace for the same config."""
    ours = json.loads(trace_json.dumps(trace_sentence(cfg, SENTENCE)))
    target = ours["tokens"]["target"]
    model = TorchTransformer(ours["config"], ours["params"], bugs)
    stages = model.run(ours["tokens"]["source"]["ids"], target and target["ids"])
    return {**ours, "stages": stages}


@pytest.fixture(autouse=True)
def proof_cache(monkeypatch, tmp_path_factory):
    """Proved derivations are remembered in this session's temporary folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def write(tmp_path, data: Any, name: str = "theirs.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


# --- verify passes a correct foreign trace, names the stage of a bug ----------------

CONFIGS = {
    "default": ModelConfig(n_layers=1),
    "seed003": ModelConfig(
        architecture="encoder", d_model=5, n_heads=1, d_k=3, d_v=3, d_ff=8,
        n_layers=1, scale_embeddings=False,
    ),
    "decoder-pre-gelu": ModelConfig(
        architecture="decoder", norm="pre", activation="gelu"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", CONFIGS)
def test_a_correct_foreign_trace_passes(name, tmp_path, capsys):
    data = foreign_trace(CONFIGS[name])
    ours = json.loads(trace_json.dumps(trace_sentence(CONFIGS[name], SENTENCE)))
    assert [s["name"] for s in data["stages"]] == [s["name"] for s in ours["stages"]]
    code, out, err = run(["verify", "--trace", write(tmp_path, data), "--json"], capsys)
    assert err == ""
    payload = json.loads(out)
    assert [r for r in payload["results"] if not r["ok"]] == []
    assert code == 0


def test_a_bug_in_the_foreign_model_is_named(tmp_path, capsys):
    data = foreign_trace(CONFIGS["default"], bugs=frozenset({"no-sqrt-dk"}))
    code, out, _ = run(
        ["verify", "--trace", write(tmp_path, data), "--failures"], capsys
    )
    assert code == 1
    first = out.splitlines()[2].split()
    assert first[:4] == ["formula", "scale", "encoder.0.self_attn.scaled", "[head"]
    assert "first divergence at encoder.0.self_attn.scaled" in out
    assert not any("embed" in line for line in out.splitlines())  # nothing earlier


def test_optional_fields_may_be_left_out(tmp_path, capsys):
    """vocab, each stage's shape, and the text of the tokens are optional."""
    data = foreign_trace(CONFIGS["seed003"])
    del data["vocab"]
    for stage in data["stages"]:
        del stage["shape"]
    data["tokens"]["source"] = {
        key: data["tokens"]["source"][key] for key in ("tokens", "ids")
    }
    code, out, _ = run(["verify", "--trace", write(tmp_path, data)], capsys)
    assert code == 0, out


# --- malformed files: one line, exit 2, naming what is wrong ------------------------


def stage_of(data: dict, name: str) -> dict:
    (stage,) = [s for s in data["stages"] if s["name"] == name]
    return stage


def drop_stage(data):
    data["stages"].remove(stage_of(data, "encoder.0.ffn.hidden"))
    return data


def wrong_shape(data):
    stage = stage_of(data, "encoder.embed.pe")
    stage["value"] = [row[:-1] for row in stage["value"]]
    stage["shape"] = [len(stage["value"]), len(stage["value"][0])]
    return data


def shape_field_disagrees(data):
    stage_of(data, "encoder.0.self_attn.q")["shape"] = [2, 6, 3]
    return data


def nan_value(data):
    stage_of(data, "encoder.0.norm1")["value"][0][0] = "nan"
    return data


def nan_literal(data):
    return json.dumps(nan_value(data)).replace('"nan"', "NaN")


def drop_param(data):
    del data["params"]["encoder.0.ffn.w_2"]
    return data


def unknown_op(data):
    stage_of(data, "encoder.0.ffn.activation")["op"] = "swish"
    return data


def wrong_op(data):
    stage_of(data, "encoder.0.ffn.activation")["op"] = "gelu"
    return data


def ragged(data):
    stage_of(data, "encoder.0.ffn.out")["value"][1].pop()
    return data


def out_of_order(data):
    names = [s["name"] for s in data["stages"]]
    pe, total = names.index("encoder.embed.pe"), names.index("encoder.embed.input")
    data["stages"][pe], data["stages"][total] = (
        data["stages"][total],
        data["stages"][pe],
    )
    return data


def no_ids(data):
    data["tokens"]["source"].update(ids=[], tokens=[])
    return data


def target_outside_vocab(data):
    data["tokens"]["target"]["ids"][-1] = len(data["vocab"])
    return data


def reads_nothing(data):
    stage_of(data, "encoder.0.ffn.out")["inputs"][0] = "encoder.0.ffn.relu"
    return data


MALFORMED = {
    "bad JSON": (lambda d: json.dumps(d)[:-20], "is not valid JSON"),
    "top level is a list": (lambda d: [d], "the top level must be a JSON object"),
    "top level is a number": (lambda d: 3, "the top level must be a JSON object"),
    "missing stage": (drop_stage, "stage 'encoder.0.ffn.hidden' is missing"),
    "wrong shape": (
        wrong_shape, "stage 'encoder.embed.pe' has shape [6, 7], expected [6, 8]",
    ),
    "shape field disagrees": (
        shape_field_disagrees,
        "stage 'encoder.0.self_attn.q': value has shape [2, 6, 4] but 'shape' says",
    ),
    "NaN as a string": (nan_value, "stage 'encoder.0.norm1': holds NaN"),
    "NaN literal": (nan_literal, "stage 'encoder.0.norm1': holds NaN"),
    "missing param": (drop_param, "parameter 'encoder.0.ffn.w_2' is missing"),
    "unknown op": (unknown_op, "stage 'encoder.0.ffn.activation': unknown op 'swish'"),
    "op not the config's": (
        wrong_op, "stage 'encoder.0.ffn.activation' has op 'gelu', expected 'relu'",
    ),
    "ragged array": (ragged, "stage 'encoder.0.ffn.out': not a rectangular array"),
    "stages out of order": (
        out_of_order,
        "stage 'encoder.embed.input' reads 'encoder.embed.pe', which comes after it",
    ),
    "no token ids": (no_ids, "tokens.source has no ids"),
    "target id outside the vocabulary": (
        target_outside_vocab, "tokens.target has an id outside the vocabulary",
    ),
    "input that is nothing": (
        reads_nothing,
        "stage 'encoder.0.ffn.out' reads 'encoder.0.ffn.relu', which is neither",
    ),
    "no stages": (
        lambda d: {k: v for k, v in d.items() if k != "stages"},
        "missing top-level field 'stages'",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def good_default() -> str:
    return json.dumps(foreign_trace(CONFIGS["default"]))


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_file_is_one_line_exit_2(name, good_default, tmp_path, capsys):
    spoil, needle = MALFORMED[name]
    path = write(tmp_path, spoil(json.loads(good_default)))
    code, out, err = run(["verify", "--trace", path], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert needle in err
    assert "Traceback" not in err


def test_infinity_where_a_number_belongs_fails_quietly(good_default, tmp_path, capsys):
    """+inf in a stage (JSON "inf") is a failed check naming it, without NumPy
    warnings on stderr."""
    data = json.loads(good_default)
    stage_of(data, "encoder.0.ffn.hidden")["value"][0][0] = "inf"
    code, out, err = run(
        ["verify", "--trace", write(tmp_path, data), "--failures"], capsys
    )
    assert code == 1 and err == ""
    assert out.splitlines()[2].split()[:3] == [
        "formula",
        "linear",
        "encoder.0.ffn.hidden",
    ]
