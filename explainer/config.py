"""The one model configuration: a frozen, validated dataclass.

Names follow Vaswani et al. 2017 (Table 3): ``d_model``, ``n_heads`` (h), ``d_k``,
``d_v``, ``d_ff``, ``n_layers`` (N).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explainer.i18n import _
from explainer.text_file import read_text

ARCHITECTURES = ("encoder", "decoder", "encoder-decoder")
NORMS = ("post", "pre")
ACTIVATIONS = ("relu", "gelu")
MODEL_ACTIVATIONS = ("swiglu",)  # only in pretrained models (Llama)
DTYPES = ("float64", "float32")
MODELS = (
    "minilm",
    "smollm2",
)  # pretrained models (explainer.models); "" is the toy model
# Largest sizes accepted: far above any model this tool explains (the paper's big
# model has d_model 1024, d_ff 4096, 6 layers), low enough that a typo such as
# --n-layers 99999999999 is named at once instead of filling the memory.
MAX_SIZES = {
    "d_model": 16384,
    "n_heads": 1024,
    "d_k": 16384,
    "d_v": 16384,
    "d_ff": 65536,
    "n_layers": 256,
    "max_len": 131072,
}
MAX_PARAM_BYTES = 2 << 30  # the toy model's weights may take at most 2 GiB
MAX_CONFIG_BYTES = 1 << 20  # a config file is a few lines


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the toy Transformer.

    >>> ModelConfig(d_model=8, n_heads=2).d_k
    4
    >>> ModelConfig(d_model=5, n_heads=1, d_k=3, d_v=3).d_v
    3
    """

    architecture: str = "encoder-decoder"  # encoder | decoder | encoder-decoder
    d_model: int = 8  # width of every token vector (paper: 512)
    n_heads: int = 2  # h, attention heads per layer (paper: 8)
    d_k: int | None = None  # query/key width per head; default d_model // n_heads
    d_v: int | None = None  # value width per head; default d_model // n_heads
    d_ff: int = 32  # inner width of the feed-forward network (paper: 2048)
    n_layers: int = 2  # N, layers in each stack (paper: 6)
    max_len: int = 64  # longest sequence accepted
    norm: str = "post"  # post: LayerNorm(x + Sublayer(x)) as in the paper; pre
    activation: str = "relu"  # FFN: relu (paper) | gelu (erf) | swiglu (Llama only)
    scale_embeddings: bool = True  # multiply embeddings by √d_model (paper §3.4)
    eps: float = 1e-5  # LayerNorm ε
    seed: int = 0  # seed of the deterministic weight initialisation
    dtype: str = "float64"  # float64 | float32
    model: str = ""  # a pretrained model (minilm, smollm2) to load; "": the toy

    def __post_init__(self) -> None:
        if self.model:
            _check_choice("model", self.model, MODELS)
        _check_choice("architecture", self.architecture, ARCHITECTURES)
        _check_choice("norm", self.norm, NORMS)
        _check_choice(
            "activation",
            self.activation,
            ACTIVATIONS + MODEL_ACTIVATIONS if self.model else ACTIVATIONS,
        )
        _check_choice("dtype", self.dtype, DTYPES)
        for name in ("d_model", "n_heads", "d_ff", "n_layers", "max_len"):
            _check_positive_int(name, getattr(self, name))
        for name in ("d_k", "d_v"):
            value = getattr(self, name)
            if value is None:
                if self.d_model % self.n_heads:
                    raise ValueError(
                        _(
                            "n_heads ({n_heads}) must divide d_model ({d_model}) "
                            "when {name} is not given; set {name} or choose "
                            "another n_heads"
                        ).format(n_heads=self.n_heads, d_model=self.d_model, name=name)
                    )
                object.__setattr__(self, name, self.d_model // self.n_heads)
            else:
                _check_positive_int(name, value)
        if not isinstance(self.scale_embeddings, bool):
            raise ValueError(
                _("scale_embeddings must be true or false, not {value}").format(
                    value=repr(self.scale_embeddings)
                )
            )
        if isinstance(self.eps, bool) or not isinstance(self.eps, int | float):
            raise ValueError(
                _("eps must be a number, not {value}").format(value=repr(self.eps))
            )
        if not math.isfinite(self.eps) or not self.eps > 0:
            raise ValueError(
                _("eps ({value}) must be > 0 and finite, e.g. 1e-5").format(
                    value=self.eps
                )
            )
        object.__setattr__(self, "eps", float(self.eps))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(
                _("{name} must be a whole number, not {value}").format(
                    name="seed", value=repr(self.seed)
                )
            )
        if self.seed < 0:
            raise ValueError(_("seed ({value}) must be >= 0").format(value=self.seed))

    @property
    def has_encoder(self) -> bool:
        return self.architecture in ("encoder", "encoder-decoder")

    @property
    def has_decoder(self) -> bool:
        return self.architecture in ("decoder", "encoder-decoder")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with ``changes`` applied (validated again)."""
        return from_dict({**self.to_dict(), **changes})


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(
            _("{name} {value} is not one of: {choices}").format(
                name=name, value=repr(value), choices=", ".join(choices)
            )
        )


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            _("{name} must be a whole number, not {value}").format(
                name=name, value=repr(value)
            )
        )
    if value <= 0:
        raise ValueError(
            _("{name} ({value}) must be > 0").format(name=name, value=value)
        )
    if value > MAX_SIZES[name]:
        raise ValueError(
            _(
                "{name} ({value}) is larger than this tool accepts ({most}); "
                "choose a smaller {name}"
            ).format(name=name, value=value, most=MAX_SIZES[name])
        )


def check_param_bytes(cfg: ModelConfig, vocab_size: int) -> int:
    """The bytes the toy model's weights would take; raises ValueError, before
    anything is allocated, when that is more than :data:`MAX_PARAM_BYTES`.

    >>> check_param_bytes(ModelConfig(), 100)  # 4896 float64 numbers
    39168
    >>> check_param_bytes(ModelConfig(d_model=16384, n_heads=16), 100)
    Traceback (most recent call last):
    ...
    ValueError: the weights would take 48.0 GiB; the limit is 2 GiB: choose a \
smaller d_model, d_ff or n_layers
    """
    from explainer.params import param_shapes

    shapes = param_shapes(cfg, vocab_size)
    count = sum(math.prod(shape) for shape in shapes.values())
    size = count * (8 if cfg.dtype == "float64" else 4)
    if size > MAX_PARAM_BYTES:
        raise ValueError(
            _(
                "the weights would take {size} GiB; the limit is {limit} GiB: "
                "choose a smaller d_model, d_ff or n_layers"
            ).format(size=f"{size / 2**30:.1f}", limit=f"{MAX_PARAM_BYTES / 2**30:.0f}")
        )
    return size


FIELDS = tuple(f.name for f in dataclasses.fields(ModelConfig))


def from_dict(values: dict[str, Any]) -> ModelConfig:
    """Build a config from a mapping, naming any unknown key.

    >>> from_dict({"d_model": 6, "n_heads": 3}).d_k
    2
    >>> from_dict({"d_modle": 6})
    Traceback (most recent call last):
    ...
    ValueError: unknown config key 'd_modle'; valid keys: architecture, d_model, \
n_heads, d_k, d_v, d_ff, n_layers, max_len, norm, activation, scale_embeddings, eps, \
seed, dtype, model
    """
    normalised = {key.replace("-", "_"): value for key, value in values.items()}
    for key in normalised:
        if key not in FIELDS:
            raise ValueError(
                _("unknown config key {key}; valid keys: {keys}").format(
                    key=repr(key), keys=", ".join(FIELDS)
                )
            )
    return ModelConfig(**normalised)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file into a dict (keys as in :class:`ModelConfig`).

    The keys may sit at the top level or under a ``[model]`` table.
    """
    path = Path(path)
    text = read_text(path, "config file", MAX_CONFIG_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(
            _("config file {path} is not valid TOML: {error}").format(
                path=repr(str(path)), error=err
            )
        ) from None
    except RecursionError:
        raise ValueError(
            _(
                "config file {path} is nested too deeply to be a config "
                "(its keys are plain numbers and words)"
            ).format(path=repr(str(path)))
        ) from None
    if "model" in data and isinstance(data["model"], dict):
        data = data["model"]
    return data
