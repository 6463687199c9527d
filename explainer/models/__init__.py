"""Real pretrained models, loaded offline from PyPI wheels and run through this
project's own NumPy forward pass.

>>> sorted(MODELS)
['minilm', 'smollm2']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from explainer.blas import one_thread
from explainer.config import ModelConfig
from explainer.forward import ForwardResult
from explainer.i18n import _
from explainer.models import bert_forward, llama_forward, minilm, smollm2
from explainer.models.hf_tokenizer import PretrainedTokenizer
from explainer.params import Params
from explainer.trace import Trace


@dataclass(frozen=True)
class ModelSpec:
    """How to load and run one pretrained model."""

    name: str
    install: str  # the pip line that installs its weights
    example: str  # the default sentence
    load_config: Callable[[], ModelConfig]
    load_params: Callable[[ModelConfig], Params]
    load_tokenizer: Callable[[], PretrainedTokenizer]
    forward: Callable[..., ForwardResult]
    end_of_text: Callable[[], int | None] = lambda: None  # the id that ends a text


MODELS: dict[str, ModelSpec] = {
    "minilm": ModelSpec(
        "minilm",
        minilm.INSTALL,
        "The quick brown fox",
        minilm.load_config,
        minilm.load_params,
        minilm.load_tokenizer,
        bert_forward.forward,
    ),
    "smollm2": ModelSpec(
        "smollm2",
        smollm2.INSTALL,
        "The capital of France is",
        smollm2.load_config,
        smollm2.load_params,
        smollm2.load_tokenizer,
        llama_forward.forward,
        lambda: smollm2.load_shape().eos_id,
    ),
}


def get_model(name: str) -> ModelSpec:
    """The spec of model ``name``, or ValueError naming the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(
            _("unknown model {name}; known models: {models}").format(
                name=repr(name), models=", ".join(MODELS)
            )
        ) from None


@dataclass(frozen=True)
class Loaded:
    """A model ready to run: config, weights (read-only) and tokenizer; and the
    stage layouts of the last sentences traced (see :func:`layout`)."""

    spec: ModelSpec
    config: ModelConfig
    params: Params
    tokenizer: PretrainedTokenizer
    layouts: dict[tuple[int, ...], ForwardResult] = field(default_factory=dict)

    def remember_layout(self, ids: np.ndarray, result: ForwardResult) -> None:
        """Keep the names, ops, inputs and shapes of a pass's stages, not their
        numbers (each value a read-only broadcast of one zero), for :func:`layout`."""

        def shape_only(value: np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.zeros((), value.dtype), value.shape)

        self.layouts[tuple(int(i) for i in ids)] = ForwardResult(
            tuple(s._replace(value=shape_only(s.value)) for s in result.stages),
            shape_only(result.logits),
        )
        while len(self.layouts) > LAYOUTS_KEPT:
            del self.layouts[next(iter(self.layouts))]  # the oldest


LAYOUTS_KEPT = 8  # sentences whose layout a model remembers


@functools.cache
def load_model(name: str) -> Loaded:
    """Load model ``name`` once per process (the weights are read-only); from then
    on BLAS runs one thread (:mod:`explainer.blas`)."""
    spec = get_model(name)
    one_thread()
    cfg = spec.load_config()
    params = spec.load_params(cfg)
    for value in params.values():
        value.setflags(write=False)
    return Loaded(spec, cfg, params, spec.load_tokenizer())


def load_params(name: str) -> Params:
    """The weights of model ``name`` (for a trace JSON that names its model)."""
    return load_model(name).params


def layout(cfg: ModelConfig, params: Params, ids: np.ndarray) -> ForwardResult:
    """The stages model ``cfg.model`` records for ``ids`` (used by verify: only
    their names, ops, inputs and shapes).

    When this process traced ``ids`` with the same config and the very same
    (read-only) weights, the pass is not run again: that deterministic pass gave
    the stages, kept without their numbers (:meth:`Loaded.remember_layout`); for
    SmolLM2 this saves a second pass of about 0.5 s.
    """
    model = load_model(cfg.model)
    same = cfg == model.config and len(params) == len(model.params)
    same = same and all(params.get(k) is v for k, v in model.params.items())
    remembered = model.layouts.get(tuple(int(i) for i in ids)) if same else None
    if remembered is not None:
        return remembered
    return get_model(cfg.model).forward(cfg, params, ids)


def trace_model(name: str, sentence: str) -> Trace:
    """Run pretrained model ``name`` on ``sentence`` and return the full trace.

    Raises ValueError when the text has more tokens than the model's context.
    """
    model = load_model(name)
    tokens = model.tokenizer.encode(sentence)
    cfg = model.config
    if len(tokens.ids) > cfg.max_len:
        raise ValueError(
            _(
                "the sentence has {n} tokens but {model} reads at most {max_len}; "
                "shorten it"
            ).format(n=len(tokens.ids), model=name, max_len=cfg.max_len)
        )
    if not tokens.ids:
        raise ValueError(_("the sentence gives no tokens; type a few words"))
    result = model.spec.forward(cfg, model.params, np.array(tokens.ids))
    model.remember_layout(np.array(tokens.ids), result)
    return Trace(
        config=cfg,
        vocab=model.tokenizer.vocab,
        source=tokens,
        target=None,
        params=model.params,
        stages=result.stages,
    )
