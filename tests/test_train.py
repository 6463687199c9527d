"""Training (issue 13): the loss of a padded batch and its gradients, Adam against
its SymPy definition, determinism, the shipped weights, greedy decoding."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from cli_run import run

from explainer import numeric
from explainer.backward import with_backward
from explainer.config import ModelConfig
from explainer.dataset import build_dataset, load_dataset, parse_pair
from explainer.run import trace_sentence
from explainer.symbolic import adam as adam_sym
from explainer.tokenizer import Tokenizer
from explainer.train import (
    Settings,
    initial_params,
    load_weights,
    shipped_weights,
    task_batch,
    train,
)
from explainer.train.adam import adam_update
from explainer.train.greedy import continue_ids, translate_ids
from explainer.train.objective import Guide, evaluate
from explainer.train.tasks import task_batches
from explainer.train.weights_file import from_bytes, to_bytes
from explainer.verify import verify

TINY = ModelConfig(d_model=4, n_heads=2, d_ff=8, n_layers=1)
PAIRS = [
    parse_pair("you win or you die", "你 赢 或者 你 死", "0-0 1-1 2-2 3-3 4-4"),
    parse_pair("the king wins", "国王 赢", "0-_ 1-0 2-1"),
    parse_pair("winter is coming", "凛冬 将 至", "0-0 1-1 2-2"),
]


SHIPPED = Path(__file__).parents[1] / "explainer/data/weights/default.safetensors"


@pytest.fixture(scope="module")
def small():
    return build_dataset(PAIRS)


# --- Adam ---------------------------------------------------------------------------


def test_adam_update_is_the_sympy_definition():
    """Three steps of the NumPy update against the SymPy expressions lambdified."""
    theta_t, m_t, v_t = adam_sym.adam_update_expr()
    names = ("theta", "m", "v", "g", "t", "alpha", "beta_1", "beta_2", "epsilon")
    symbols = [sp.Symbol(n) for n in names]
    subs = {s: sp.Symbol(s.name) for e in (theta_t, m_t, v_t) for s in e.free_symbols}
    fns = [sp.lambdify(symbols, e.xreplace(subs), "numpy") for e in (theta_t, m_t, v_t)]
    rng = np.random.default_rng(1)
    theta, m, v = rng.normal(size=5), np.zeros(5), np.zeros(5)
    for t in (1, 2, 3):
        g = rng.normal(size=5)
        args = (theta, m, v, g, t, 0.01, 0.9, 0.98, 1e-9)
        expected = [f(*args) for f in fns]
        got = adam_update(theta, m, v, g, t, 0.01, 0.9, 0.98, 1e-9)
        for a, b in zip(got, expected, strict=True):
            assert np.allclose(a, b, rtol=1e-13, atol=0)
        theta, m, v = got


# --- the loss of a padded batch -----------------------------------------------------


def test_padded_batch_gradient_is_the_weighted_sum_of_its_sentences(small):
    """Padding changes nothing: the batch's gradient is Σ (Tᵢ/N)·∇Lᵢ, where ∇Lᵢ comes
    from each sentence's own unpadded backward trace (mean over its Tᵢ positions)."""
    params = initial_params(TINY, len(small.tokenizer.vocab))
    batch = task_batch("translation", small)
    result = evaluate(TINY, params, small.tokenizer.vocab, [batch])
    n = batch.n_labels
    expected = {k: np.zeros_like(v) for k, v in params.items()}
    loss = 0.0
    for pair in small.pairs:
        trace = with_backward(
            trace_sentence(
                TINY,
                " ".join(pair.english),
                target=" ".join(pair.chinese),
                tokenizer=small.tokenizer,
                params=params,
            )
        )
        share = len(pair.chinese) + 1  # y₁ … yₙ <eos>
        loss += float(trace["backward.loss"]) * share / n
        for name in params:
            if f"backward.{name}" in trace:
                expected[name] += trace[f"backward.{name}"] * share / n
    assert result.loss == pytest.approx(loss, rel=1e-12)
    for name in params:
        assert np.allclose(result.gradients[name], expected[name], atol=1e-13), name


def test_buckets_give_the_whole_batch_gradient(small):
    params = initial_params(TINY, len(small.tokenizer.vocab))
    vocab = small.tokenizer.vocab
    whole = evaluate(TINY, params, vocab, [task_batch("translation", small)])
    split = evaluate(TINY, params, vocab, task_batches("translation", small, 2))
    assert split.loss == pytest.approx(whole.loss, rel=1e-12)
    for name, g in whole.gradients.items():
        assert np.allclose(split.gradients[name], g, atol=1e-14)


def test_guided_alignment_gradient_matches_finite_differences(small):
    """The alignment loss's gradient (−λ G/(A J), pushed back by the backward rules)
    against central differences of the total loss, on a few weights."""
    params = initial_params(TINY, len(small.tokenizer.vocab))
    vocab, batches = small.tokenizer.vocab, [task_batch("translation", small)]
    guide = Guide(weight=2.0, head=1)

    def total(p):
        r = evaluate(TINY, p, vocab, batches, guide)
        return r.loss + r.alignment_loss

    result = evaluate(TINY, params, vocab, batches, guide)
    assert result.alignment_loss > 0
    rng = np.random.default_rng(0)
    for name in ("decoder.0.cross_attn.w_q", "encoder.0.self_attn.w_v", "embedding"):
        for _ in range(3):
            index = tuple(rng.integers(0, s) for s in params[name].shape)
            h = 1e-6
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += h
            minus[name][index] -= h
            numeric_grad = (total(plus) - total(minus)) / (2 * h)
            assert result.gradients[name][index] == pytest.approx(
                numeric_grad, abs=1e-7, rel=1e-5
            ), (name, index)


# --- training -------------------------------------------------------------------------


def test_training_lowers_the_loss_and_is_deterministic(small):
    settings = Settings(steps=60, alpha=0.05, warmup=5, checkpoints=(0, 10, 60))
    first = train(TINY, "translation", small, settings)
    second = train(TINY, "translation", small, settings)
    assert first.losses[-1] < 0.5 * first.losses[0]
    assert to_bytes(first) == to_bytes(second)
    assert sorted(first.checkpoints) == [0, 10, 60]
    assert all(
        np.array_equal(first.checkpoints[60][k], first.params[k]) for k in first.params
    )
    back = from_bytes(to_bytes(first), "test")
    assert back.config == first.config and back.vocab == first.vocab
    assert back.losses == first.losses
    for name, value in first.params.items():
        assert np.array_equal(back.params[name], value)


def test_training_starts_from_gamma_one_beta_zero():
    params = initial_params(TINY, 20)
    gammas = [v for k, v in params.items() if k.endswith("gamma")]
    betas = [v for k, v in params.items() if k.endswith("beta")]
    assert gammas and all((g == 1).all() for g in gammas)
    assert all((b == 0).all() for b in betas)


def test_the_cli_writes_the_same_bytes_twice(tmp_path, capsys):
    files = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.safetensors"
        code, stdout, _ = run(
            ["train", "--steps", "3", "--warmup", "1", "-q", "--out", str(out)], capsys
        )
        assert code == 0, stdout
        files.append(out.read_bytes())
        assert (tmp_path / f"{name}-loss.svg").read_text().startswith("<svg")
    assert files[0] == files[1]
    weights = load_weights(tmp_path / "a.safetensors")
    assert len(weights.losses) == 3 and weights.settings["steps"] == 3


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--preset", "seed003"], "seed003"),
        (["train", "--steps", "0"], "steps 0"),
        (["train", "--checkpoints", "1,x"], "--checkpoints"),
        (["train", "--steps", "5", "--checkpoints", "9"], "checkpoint 9"),
        (["trace", "--weights", "README.md"], "safetensors"),
        (["trace", "--weights", "nowhere.safetensors"], "does not exist"),
        (
            ["trace", "--preset", "default", "--d-model", "4", "--weights", "x"],
            "--d-model",
        ),
    ],
)
def test_bad_training_input_is_one_line(argv, words, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert words in err and err.count("\n") == 1, err


# --- the shipped weights --------------------------------------------------------------


@pytest.fixture(scope="module")
def default():
    return shipped_weights("default.safetensors")


def test_shipped_default_translates_every_pair_exactly(default):
    data = load_dataset()
    tokenizer = Tokenizer(default.vocab)
    wrong = []
    for pair in data.pairs:
        ids = tokenizer.encode(" ".join(pair.english)).ids
        out = translate_ids(default.config, default.params, default.vocab, list(ids))
        words = tuple(default.vocab[i] for i in out)
        if words != pair.chinese:
            wrong.append((pair.english, words))
    assert not wrong, wrong[:5]


def test_demo_pair_is_translated_by_the_cli(capsys):
    code, out, _ = run(["generate", "-s", "When you play game of thrones"], capsys)
    assert code == 2  # a --prompt for SmolLM2 is needed without --preset
    code, out, _ = run(
        ["generate", "--preset", "default", "-s", "When you play game of thrones"],
        capsys,
    )
    assert code == 0 and out.strip().endswith("当 你 玩 权力 的 游戏")
    code, out, _ = run(["trace", "-s", "you win or you die"], capsys)
    assert "target: <bos>(2) 你" in out and "或者" in out and "死" in out


def test_last_cross_attention_looks_at_the_aligned_word(default):
    """For the demo pair, the last decoder layer's cross-attention (the guided head,
    and the mean over heads) puts its largest weight on an English word linked to
    the Chinese word being written, for most Chinese words."""
    data = load_dataset()
    pair = data.pairs[data.find("when you play game of thrones")]
    trace = trace_sentence(
        default.config,
        " ".join(pair.english),
        target=" ".join(pair.chinese),
        tokenizer=Tokenizer(default.vocab),
        params=default.params,
    )
    weights = trace[f"decoder.{default.config.n_layers - 1}.cross_attn.weights"]
    head = default.settings["alignment"]["head"]
    for view in (weights[head], weights.mean(axis=0)):  # (T, M)
        hits = [
            int(np.argmax(view[j])) in pair.sources_of(j)
            for j in range(len(pair.chinese))
            if pair.sources_of(j)
        ]
        assert sum(hits) > len(hits) / 2, hits


def test_trained_gamma_and_beta_moved_from_one_and_zero(default):
    gammas = [v for k, v in default.params.items() if k.endswith("gamma")]
    betas = [v for k, v in default.params.items() if k.endswith("beta")]
    assert max(float(np.abs(g - 1).max()) for g in gammas) > 0.1
    assert max(float(np.abs(b).max()) for b in betas) > 0.1


def _swapped(x, gamma, beta, eps):
    return _LAYER_NORM(x, beta, gamma, eps)  # β scales, γ shifts


def _without(x, gamma, beta, eps):
    return _LAYER_NORM(x, np.ones_like(gamma), np.zeros_like(beta), eps)


_LAYER_NORM = numeric.layer_norm


@pytest.mark.parametrize("mutant", [_swapped, _without])
def test_a_gamma_beta_bug_is_caught_with_trained_weights(default, mutant, monkeypatch):
    """Point 7: with trained γ and β, a LayerNorm that swaps or drops them fails
    verify at the first LayerNorm."""
    monkeypatch.setattr(numeric, "layer_norm", mutant)
    trace = trace_sentence(
        default.config,
        "you win or you die",
        target="你 赢 或者 你 死",
        tokenizer=Tokenizer(default.vocab),
        params=default.params,
    )
    bad = [r for r in verify(trace, derivations=False) if not r.ok]
    assert bad and bad[0].where.split(" [")[0] == "encoder.0.norm1", bad[:1]


def test_next_word_model_continues_training_sentences():
    """The decoder-only preset continues a training sentence from its first two
    words: every sentence whose first two words no other sentence starts with,
    all but at most one of them."""
    weights = shipped_weights("next-word.safetensors")
    data = load_dataset()
    tokenizer = Tokenizer(weights.vocab)
    starts = Counter(p.english[:2] for p in data.pairs)
    unique = [
        p for p in data.pairs if starts[p.english[:2]] == 1 and len(p.english) > 2
    ]
    good = 0
    for pair in unique:
        ids = list(tokenizer.encode(" ".join(pair.english[:2])).ids)
        out = continue_ids(weights.config, weights.params, weights.vocab, ids)
        good += pair.english[:2] + tuple(weights.vocab[i] for i in out) == pair.english
    assert len(unique) >= 20 and good >= len(unique) - 1


def test_random_presets_say_so(capsys):
    code, out, _ = run(["trace", "--preset", "seed003"], capsys)
    assert code == 0 and "the weights are random, not trained" in out
    code, out, _ = run(["trace"], capsys)
    assert "weights: trained to translate English into Chinese" in out


def test_train_preset_default_reproduces_the_shipped_weights(tmp_path, capsys, default):
    """`explainer train --preset default` gives the shipped file's bytes where NumPy
    and OpenBLAS run the kernels it was trained with (training runs on one BLAS
    thread, so the core count does not matter). Where they run others (AVX-512:
    rounding differs in the last bit, and 500 steps of Adam carry that to 0.03 in a
    weight), the model it trains still does what the shipped one does: the same
    final loss, every pair translated exactly."""
    out = tmp_path / "default.safetensors"
    code, stdout, _ = run(
        ["train", "--preset", "default", "-q", "--out", str(out)], capsys
    )
    assert code == 0, stdout
    if out.read_bytes() == SHIPPED.read_bytes():
        return
    mine = load_weights(out)
    assert mine.final_loss == pytest.approx(default.final_loss, abs=1e-3)
    tokenizer = Tokenizer(mine.vocab)
    for pair in load_dataset().pairs:
        ids = tokenizer.encode(" ".join(pair.english)).ids
        got = translate_ids(mine.config, mine.params, mine.vocab, list(ids))
        assert tuple(mine.vocab[i] for i in got) == pair.chinese, pair.english


def _shipped_kernels() -> dict[str, str]:
    """The environment under which NumPy and OpenBLAS pick the x86-64 AVX2 kernels
    (Haswell) that the shipped weights were trained with: NumPy's dispatched
    kernels above them and OpenBLAS's own choice turned off. Empty where NumPy has
    no x86-64 kernels (another architecture)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__

    if "X86_V3" not in __cpu_dispatch__:
        return {}
    above = [f for f in __cpu_dispatch__ if f == "X86_V4" or f.startswith("AVX512")]
    return {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": " ".join(above)}


@pytest.mark.slow
def test_the_shipped_kernels_give_the_shipped_bytes(tmp_path):
    """With the AVX2 kernels, on any x86-64 CPU that has them, training writes the
    shipped file byte for byte (the README says how)."""
    kernels = _shipped_kernels()
    if not kernels:
        pytest.skip("not an x86-64 NumPy: the shipped weights' kernels are not here")
    out = tmp_path / "default.safetensors"
    train = ["train", "--preset", "default", "-q", "--out", str(out)]
    subprocess.run(
        [sys.executable, "-m", "explainer", *train],
        env={**os.environ, **kernels},
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == SHIPPED.read_bytes()
