"""Watch it learn (explainer/train/learning.py): the demo pair's cross-attention at
each checkpoint of the shipped default weights, checked against forward passes run
here with each checkpoint's weights, and against the dataset's alignment table."""

import numpy as np
import pytest

from explainer.dataset import load_dataset
from explainer.run import trace_sentence
from explainer.tokenizer import Tokenizer
from explainer.train import shipped_weights
from explainer.train.learning import DEMO_ENGLISH, can_watch, watch_learning

CHINESE = "当 你 玩 权力 的 游戏"


@pytest.fixture(scope="module")
def weights():
    return shipped_weights("default.safetensors")


@pytest.fixture(scope="module")
def learning(weights):
    return watch_learning(weights)


def _cross_attention(weights, params):
    """The last decoder layer's cross-attention of the demo pair: a trace made
    here from the sentence text, as `explainer trace` makes it."""
    trace = trace_sentence(
        weights.config,
        DEMO_ENGLISH,
        target=CHINESE,
        tokenizer=Tokenizer(weights.vocab),
        params=params,
    )
    layer = weights.config.n_layers - 1
    return trace[f"decoder.{layer}.cross_attn.weights"], trace


def test_snapshots_are_the_checkpoints_then_the_final_step(weights, learning):
    assert learning.checkpoints == (*sorted(weights.checkpoints), 500)
    assert learning.checkpoints[:4] == (0, 10, 50, 200)
    for snap in learning.snapshots[:-1]:
        assert snap.loss == weights.losses[snap.step]
    assert learning.snapshots[-1].loss is None  # no loss is recorded after the end
    assert learning.source == tuple(DEMO_ENGLISH.split())
    assert learning.rows == (*CHINESE.split(), "<eos>")
    assert learning.inputs == ("<bos>", *CHINESE.split())


def test_each_heatmap_is_a_forward_pass_with_that_checkpoints_weights(
    weights, learning
):
    params = {**weights.checkpoints, 500: weights.params}
    for snap in learning.snapshots:
        expected, trace = _cross_attention(weights, params[snap.step])
        np.testing.assert_allclose(snap.weights, expected, rtol=0, atol=1e-12)
        probs = trace["output.probs"]
        labels = [weights.vocab.index(w) for w in learning.rows]
        loss = -np.mean(np.log(probs[np.arange(len(labels)), labels]))
        assert snap.pair_loss == pytest.approx(loss, rel=1e-12)


def test_the_last_layer_puts_its_largest_weight_on_the_aligned_word(weights):
    """Issue 13: for the demo pair, the last layer's cross-attention (the head
    taught the alignment) puts its largest weight on the aligned source word for
    most target words; the untrained weights do not."""
    dataset = load_dataset()
    pair = dataset.pairs[dataset.find(DEMO_ENGLISH)]
    head = weights.settings["alignment"]["head"]

    def hits(params):
        attention, _ = _cross_attention(weights, params)
        best = attention[head].argmax(-1)
        linked = [pair.sources_of(j) for j in range(len(pair.chinese))]
        return sum(int(best[j]) in linked[j] for j in range(len(linked)))

    n = len(pair.chinese)
    assert hits(weights.params) > n / 2
    assert hits(weights.params) == n  # today: every word
    assert hits(weights.checkpoints[0]) < n / 2


def test_hits_agrees_with_the_alignment(learning):
    final, start = learning.snapshots[-1], learning.snapshots[0]
    assert learning.hits(final) == [True] * 6
    assert sum(learning.hits(start)) < 3
    assert learning.guided and learning.layer == 1 and learning.head == 0


def test_only_an_encoder_decoder_with_checkpoints_can_be_watched(weights):
    assert can_watch(weights)
    assert not can_watch(None)
    assert not can_watch(shipped_weights("next-word.safetensors"))
    with pytest.raises(ValueError, match="checkpoints"):
        watch_learning(shipped_weights("next-word.safetensors"))
    with pytest.raises(ValueError, match="not an English sentence"):
        watch_learning(weights, "the cat sat on the mat")
