"""The recorded backward pass (``explainer trace --backward``) against torch
autograd on the same weights, and against central finite differences.

torch rebuilds the forward pass stage by stage from its own functions
(``F.embedding``, matmuls, ``F.layer_norm``, ``F.relu``/``F.gelu``,
``torch.softmax``, ``F.cross_entropy``) on leaf tensors holding our weights, keeps
every intermediate's gradient (``retain_grad``), and differentiates the same loss.
Every ``backward.X`` stage must equal torch's ∂L/∂X within 1e-8 in float64; so must
the loss. The weights come from test_parity_torch's builder (every γ, β and bias
random).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from cli_run import run
from tampering import tampered
from test_parity_torch import VOCAB, make_config, random_params, sinusoids

from explainer import trace_json
from explainer.backward import backward_stages, with_backward
from explainer.backward.loss import next_token_labels
from explainer.config import ModelConfig
from explainer.forward import forward
from explainer.params import Params
from explainer.trace import Op, Tokens, Trace

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-8
VOCAB_WORDS = ("<pad>", "<unk>", "<bos>", "<eos>", *(f"w{i}" for i in range(4, VOCAB)))
EOS = 3
ARCHITECTURES = ("encoder-decoder", "encoder", "decoder")


@pytest.fixture(autouse=True)
def float64_torch():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def make_trace(cfg: ModelConfig, params: Params, seed: int = 2) -> Trace:
    """A forward trace on random ids (a repeated source token, so that the
    embedding's rows scatter-add)."""
    rng = np.random.default_rng(seed)
    source = rng.integers(4, VOCAB, 6)
    source[3] = source[1]
    target = np.concatenate([[2], rng.integers(4, VOCAB, 4)])  # <bos> y₁ … y₄
    is_ed = cfg.architecture == "encoder-decoder"
    result = forward(cfg, params, source, target if is_ed else None)

    def tokens(ids):
        words = tuple(VOCAB_WORDS[i] for i in ids)
        return Tokens(" ".join(words), words, tuple(int(i) for i in ids))

    return Trace(
        config=cfg,
        vocab=VOCAB_WORDS,
        source=tokens(source),
        target=tokens(target) if is_ed else None,
        params=params,
        stages=result.stages,
    )


def labels_of(trace: Trace) -> np.ndarray:
    """Written here again: the decoders' next tokens, the encoder's own tokens."""
    if trace.config.architecture == "encoder-decoder":
        return np.array([*trace.target.ids[1:], EOS])
    if trace.config.architecture == "decoder":
        return np.array([*trace.source.ids[1:], EOS])
    return np.array(trace.source.ids)


# ------------------------------------------------------------ torch, stage by stage


class TorchPass:
    """The forward pass in torch under our stage names; ``grad(name)`` is ∂L/∂name."""

    def __init__(self, trace: Trace) -> None:
        self.cfg = cfg = trace.config
        self.leaves = {
            n: torch.tensor(np.array(v), requires_grad=True)
            for n, v in trace.params.items()
        }
        self.t: dict[str, torch.Tensor] = {}
        source = torch.tensor(trace.source.ids)
        if cfg.architecture == "decoder":
            h = self.stack("decoder", source, None)
        else:
            memory = self.stack("encoder", source, None)
            h = memory
            if cfg.architecture == "encoder-decoder":
                target = torch.tensor(trace.target.ids)
                h = self.stack("decoder", target, memory)
        logits = self.keep("output.logits", h @ self.leaves["embedding"].T)
        self.loss = F.cross_entropy(logits, torch.tensor(labels_of(trace)))
        self.loss.backward()

    def keep(self, name: str, x):
        x.retain_grad()
        self.t[name] = x
        return x

    def grad(self, name: str) -> np.ndarray:
        x = self.t[name] if name in self.t else self.leaves[name]
        return x.grad.numpy()

    def embed(self, prefix: str, ids):
        x = self.keep(f"{prefix}.lookup", F.embedding(ids, self.leaves["embedding"]))
        if self.cfg.scale_embeddings:
            x = self.keep(f"{prefix}.scaled", x * math.sqrt(self.cfg.d_model))
        return self.keep(f"{prefix}.input", x + sinusoids(len(ids), self.cfg.d_model))

    def attention(self, p: str, x, m, causal: bool):
        w, h = self.leaves, self.cfg.n_heads

        def project(which: str, src):
            y = src @ w[f"{p}.w_{which}"] + w[f"{p}.b_{which}"]  # (T, h·d)
            heads = y.reshape(y.shape[0], h, -1).transpose(0, 1)  # (h, T, d)
            return self.keep(f"{p}.{which}", heads)

        q, k, v = project("q", x), project("k", m), project("v", m)
        s = self.keep(f"{p}.scores", q @ k.transpose(-1, -2))
        s = self.keep(f"{p}.scaled", s / math.sqrt(self.cfg.d_k))
        if causal:
            allowed = torch.tril(torch.ones(s.shape[-2:], dtype=torch.bool))
            s = s.masked_fill(~allowed, -math.inf)
        else:
            s = s + 0.0  # no mask: a stage of its own all the same
        s = self.keep(f"{p}.masked", s)
        a = self.keep(f"{p}.weights", torch.softmax(s, dim=-1))
        o = self.keep(f"{p}.heads", a @ v)
        c = self.keep(f"{p}.concat", o.transpose(0, 1).reshape(o.shape[1], -1))
        return self.keep(f"{p}.out", c @ w[f"{p}.w_o"] + w[f"{p}.b_o"])

    def ffn(self, p: str, x):
        w = self.leaves
        hidden = self.keep(f"{p}.hidden", x @ w[f"{p}.w_1"] + w[f"{p}.b_1"])
        act = F.relu if self.cfg.activation == "relu" else F.gelu
        a = self.keep(f"{p}.activation", act(hidden))
        return self.keep(f"{p}.out", a @ w[f"{p}.w_2"] + w[f"{p}.b_2"])

    def norm(self, name: str, x):
        g, b = self.leaves[f"{name}.gamma"], self.leaves[f"{name}.beta"]
        y = F.layer_norm(x, (self.cfg.d_model,), g, b, self.cfg.eps)
        return self.keep(name, y)

    def sublayer(self, p: str, n: int, x, body):
        if self.cfg.norm == "post":
            r = self.keep(f"{p}.residual{n}", x + body(x))
            return self.norm(f"{p}.norm{n}", r)
        return self.keep(f"{p}.residual{n}", x + body(self.norm(f"{p}.norm{n}", x)))

    def stack(self, stack: str, ids, memory):
        x = self.embed(f"{stack}.embed", ids)
        causal = stack == "decoder"
        for layer in range(self.cfg.n_layers):
            p = f"{stack}.{layer}"
            x = self.sublayer(
                p, 1, x, lambda y, p=p: self.attention(f"{p}.self_attn", y, y, causal)
            )
            n = 2
            if memory is not None:
                x = self.sublayer(
                    p, n, x,
                    lambda y, p=p: self.attention(f"{p}.cross_attn", y, memory, False),
                )  # fmt: skip
                n += 1
            x = self.sublayer(p, n, x, lambda y, p=p: self.ffn(f"{p}.ffn", y))
        if self.cfg.norm == "pre":
            x = self.norm(f"{stack}.norm", x)
        return x


def gradients(trace: Trace) -> dict[str, np.ndarray]:
    """Our ∂L/∂X for every forward stage and parameter X (the partial
    ``backward.X@Y`` stages are checked through their sums)."""
    return {
        s.name.removeprefix("backward."): s.value
        for s in backward_stages(trace)
        if s.op not in (Op.LABELS, Op.CROSS_ENTROPY) and "@" not in s.name
    }


def max_err(ours: np.ndarray, theirs: np.ndarray) -> float:
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    assert np.isfinite(ours).all() and np.isfinite(theirs).all()
    return float(np.max(np.abs(ours - theirs)))


CASES = [
    (config, arch, norm, act)
    for config in ("d8-h2", "seed003")
    for arch in ARCHITECTURES
    for norm in ("post", "pre")
    for act in ("relu", "gelu")
]


@pytest.mark.parametrize(("config", "architecture", "norm", "activation"), CASES)
def test_every_gradient_matches_torch_autograd(config, architecture, norm, activation):
    """Loss, ∂L/∂(every forward stage on the way) and ∂L/∂(every parameter)."""
    cfg = make_config(
        config, architecture=architecture, norm=norm, activation=activation
    )
    trace = make_trace(cfg, random_params(cfg))
    ref = TorchPass(trace)
    stages = {s.name: s for s in backward_stages(trace)}
    assert abs(float(stages["backward.loss"].value) - ref.loss.item()) <= TOL
    ours = gradients(trace)
    # The same names: every parameter, every stage torch kept a gradient of.
    assert set(ours) == set(ref.t) | set(trace.params)
    errors = {name: max_err(value, ref.grad(name)) for name, value in ours.items()}
    worst = max(errors, key=errors.get)
    assert errors[worst] <= TOL, f"∂L/∂{worst}: max abs error {errors[worst]:.3g}"
    # Not all zero: the comparison would hold for a pass that does nothing.
    assert np.abs(ours["embedding"]).max() > 1e-3


# ------------------------------------------------------------ finite differences


def loss_at(cfg: ModelConfig, params: Params, trace: Trace) -> float:
    """The loss recomputed from a fresh forward pass, log-softmax written here."""
    ids = np.array(trace.source.ids)
    target = None if trace.target is None else np.array(trace.target.ids)
    logits = forward(cfg, params, ids, target, record=False).logits  # (T, V)
    top = logits.max(axis=-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    labels = labels_of(trace)
    return float(-log_probs[np.arange(len(labels)), labels].mean())


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize(("norm", "activation"), [("post", "relu"), ("pre", "gelu")])
def test_finite_differences_on_seeded_coordinates(architecture, norm, activation):
    """(L(θ + h) − L(θ − h)) / 2h, h = 1e-6, on two seeded coordinates of every
    parameter, against ∂L/∂θ of the recorded pass."""
    cfg = make_config(
        "d8-h2", architecture=architecture, norm=norm, activation=activation
    )
    params = random_params(cfg)
    trace = make_trace(cfg, params)
    grads = gradients(trace)
    rng = np.random.default_rng(7)
    step = 1e-6
    for name, value in params.items():
        for _ in range(2):
            index = tuple(int(rng.integers(n)) for n in value.shape)
            plus, minus = dict(params), dict(params)
            plus[name], minus[name] = value.copy(), value.copy()
            plus[name][index] += step
            minus[name][index] -= step
            numeric = (loss_at(cfg, plus, trace) - loss_at(cfg, minus, trace)) / (
                2 * step
            )
            ours = grads[name][index]
            assert abs(numeric - ours) <= 1e-6 * max(1.0, abs(ours)), (
                name, index, numeric, ours,
            )  # fmt: skip


# ------------------------------------------------------------ the trace and the CLI


def test_labels_follow_the_documented_shift():
    """<bos> y₁ … yₙ is read, y₁ … yₙ <eos> is predicted."""
    assert list(next_token_labels(np.array([2, 5, 6]), 3, shift=True)) == [5, 6, 3]
    cfg = make_config("d8-h2", architecture="encoder-decoder")
    trace = with_backward(make_trace(cfg, random_params(cfg)))
    assert list(trace["backward.labels"]) == [*trace.target.ids[1:], EOS]
    assert trace.stage("backward.labels").inputs == ("decoder.embed.ids",)


def test_tied_embedding_sums_its_three_uses():
    """E is read by both lookups and the output projection: three parts, summed."""
    cfg = make_config("d8-h2", architecture="encoder-decoder")
    trace = with_backward(make_trace(cfg, random_params(cfg)))
    total = trace.stage("backward.embedding")
    assert total.op == Op.GRAD_SUM
    assert sorted(total.inputs) == [
        "backward.embedding@decoder.embed.lookup",
        "backward.embedding@encoder.embed.lookup",
        "backward.embedding@output.logits",
    ]
    parts = sum(trace[name] for name in total.inputs)
    assert np.array_equal(parts, total.value)


def test_cli_backward_json_round_trips_and_is_deterministic(capsys):
    argv = ["trace", "--backward", "--json", "--n-layers", "1"]
    code, first, _ = run(argv, capsys)
    assert code == 0
    _, second, _ = run(argv, capsys)
    assert first == second  # byte-identical
    trace = trace_json.loads(first)
    assert trace_json.dumps(trace) == first
    assert trace.stage("backward.loss").shape == ()
    assert trace.stage("backward.labels").value.dtype == np.int64
    assert trace["backward.embedding"].shape == trace["embedding"].shape


def test_cli_backward_summary_shows_the_loss(capsys):
    code, out, _ = run(["trace", "--backward", "--n-layers", "1"], capsys)
    assert code == 0
    assert "backward.loss" in out and "cross_entropy" in out


def test_cli_backward_with_a_pretrained_model_is_a_one_line_error(capsys):
    code, _, err = run(["trace", "--backward", "--model", "minilm"], capsys)
    assert code == 2
    assert "--backward" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_trace_sentence_with_backward_is_the_forward_trace_and_its_gradients():
    from explainer.run import trace_sentence

    cfg = ModelConfig(architecture="decoder", n_layers=1)
    plain = trace_sentence(cfg, "you win or you die")
    full = trace_sentence(cfg, "you win or you die", backward=True)
    assert full.stages[: len(plain)] == plain.stages
    assert full == with_backward(plain)
    # The decoder predicts the next word: win or you die <eos>.
    words = [full.vocab[i] for i in full["backward.labels"]]
    assert words == ["win", "or", "you", "die", "<eos>"]


# ------------------------------------------------------------ explainer verify


def backward_rows(trace: Trace):
    """verify's rows for the backward stages (explainer.verify.backward)."""
    from explainer.verify.backward import check_backward

    return None, check_backward(trace)


def test_verify_runs_the_forward_and_the_backward_checks():
    from explainer.run import trace_sentence
    from explainer.verify import verify

    trace = trace_sentence(ModelConfig(n_layers=1), "you win", backward=True)
    results = verify(trace, derivations=False, precision=False)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    kinds = {r.check for r in results}
    assert {"formula", "gradient", "finite differences"} <= kinds


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_verify_checks_every_backward_stage(architecture, dtype):
    from explainer.run import trace_sentence

    cfg = ModelConfig(architecture=architecture, dtype=dtype, norm="pre")
    trace = trace_sentence(cfg, "you win or you die", backward=True)
    _, rows = backward_rows(trace)
    assert all(r.ok for r in rows), [r for r in rows if not r.ok]
    checked = {r.where for r in rows if r.check == "gradient"}
    assert checked == {s.name for s in trace.stages if s.name.startswith("backward.")}
    by_fd = {r.where for r in rows if r.check == "finite differences"}
    assert by_fd == {f"backward.{name}" for name in trace.params}


@pytest.mark.parametrize(
    "name",
    [
        "backward.decoder.0.self_attn.masked",  # softmax_backward
        "backward.encoder.1.norm2.gamma",  # a parameter's gradient
        "backward.output.logits",  # p − y
        "backward.embedding@encoder.embed.lookup",  # one part of a sum
    ],
)
def test_a_tampered_gradient_fails_verify_and_is_named(name):
    from explainer.run import trace_sentence

    trace = trace_sentence(ModelConfig(), "you win or you die", backward=True)
    _, rows = backward_rows(tampered(trace, name))
    failed = [r for r in rows if not r.ok and r.check == "gradient"]
    # The stage itself is the first named; the stages that read it disagree with
    # its new value too, and say so.
    assert failed[0].where == name
    assert failed[0].expected is not None and failed[0].cell
    assert all(f"reads {name}" in r.detail for r in failed[1:])


def test_a_missing_backward_stage_is_named():
    from explainer.run import trace_sentence

    trace = trace_sentence(ModelConfig(n_layers=1), "you win", backward=True)
    kept = tuple(s for s in trace.stages if s.name != "backward.decoder.0.ffn.w_1")
    broken = trace.with_stages(kept)
    _, rows = backward_rows(broken)
    failed = [r for r in rows if not r.ok]
    assert [(r.check, r.where) for r in failed] == [
        ("structure", "backward.decoder.0.ffn.w_1")
    ]


@pytest.fixture
def proof_cache(monkeypatch, tmp_path_factory):
    """Proved derivations are remembered in this session's temporary folder (as in
    test_verify.py), not in the user's ~/.cache."""
    from explainer.verify import derivations

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv(derivations.NO_CACHE, raising=False)


@pytest.mark.usefixtures("proof_cache")
def test_cli_verify_names_a_tampered_gradient(capsys, tmp_path):
    from explainer.run import trace_sentence

    trace = trace_sentence(ModelConfig(n_layers=1), "you win", backward=True)
    bad = tmp_path / "bad.json"
    name = "backward.decoder.0.cross_attn.w_v"
    bad.write_text(trace_json.dumps(tampered(trace, name)), encoding="utf-8")
    code, out, _ = run(["verify", "--trace", str(bad)], capsys)
    assert code == 1
    assert "finite differences" in out and "gradient" in out
    assert name in out


def test_a_report_of_a_backward_trace_shows_its_forward_stages():
    """The report has no backward sections yet; the backward stages do not break it."""
    from explainer.report.build import render_report
    from explainer.run import trace_sentence
    from explainer.verify import verify

    trace = trace_sentence(ModelConfig(n_layers=1), "you win", backward=True)
    page = render_report(trace, verify(trace, derivations=False, precision=False))
    assert "decoder.0.self_attn" in page


def test_weight_gradients_of_a_batch_add_its_sentences():
    """A parameter's gradient over a batch (B, T, ·) is the sum of each sentence's."""
    from explainer.backward import layer_norm, linear

    rng = np.random.default_rng(3)
    x, dy = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 5))
    for rule in (linear.linear_backward_w, linear.logits_backward_e):
        assert np.allclose(rule(x, dy), sum(rule(x[b], dy[b]) for b in range(2)))
    assert np.allclose(
        linear.linear_backward_b(dy), sum(linear.linear_backward_b(d) for d in dy)
    )
    assert np.allclose(
        layer_norm.layer_norm_backward_gamma(x, x, 1e-5),
        sum(layer_norm.layer_norm_backward_gamma(x[b], x[b], 1e-5) for b in range(2)),
    )
