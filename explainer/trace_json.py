"""The public JSON format of a trace (documented in README.md, "Trace format").

Other programs may write this format too, so :func:`loads` checks what it reads and
names the first thing that is wrong. Arrays are nested lists; −∞ (masked scores) is
written as the string ``"-inf"`` because JSON has no infinity. A float32 number is
written as the shortest decimal that reads back as the same float32 (``0.1``, not
``0.10000000149011612``). A float array of more than :data:`PACK_ABOVE` numbers is
written packed, ``{"shape": [...], "float32": "<base64>"}`` (the little-endian
bytes; ``float64`` likewise): a pretrained model's trace is a third of the size and
is written and read in a fraction of the time. Both forms are read.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from explainer import config as config_mod
from explainer.i18n import N_, _
from explainer.trace import Op, Stage, Tokens, Trace
from explainer.trace_model import check_model_trace

SCHEMA = "explainer-trace/1"
_NONFINITE = {"-inf": -math.inf, "inf": math.inf, "nan": math.nan}
INT_OPS = {Op.TOKEN_IDS, Op.ARGMAX, Op.LABELS}
BOOL_OPS = {Op.CAUSAL_MASK, Op.NO_MASK, Op.PADDING_MASK}
PACK_ABOVE = 1024
"""Float arrays with more numbers than this are written packed (base64 bytes)."""
PACKED = ("float32", "float64")  # the dtypes a packed array may hold
_PACKED_TYPES = (np.float32, np.float64)


def to_dict(trace: Trace) -> dict[str, Any]:
    """The trace as plain JSON-ready Python objects."""
    return {
        **_head(trace),
        # A pretrained model's weights are not copied: the reader loads them from
        # the model package that ``config.model`` names.
        "params": {}
        if trace.config.model
        else {name: _array_to_json(v) for name, v in trace.params.items()},
        "stages": [
            {**_stage_head(s), "value": _array_to_json(s.value)} for s in trace.stages
        ],
    }


def dumps(trace: Trace) -> str:
    """Deterministic JSON text: the same trace gives the same bytes.

    The text of ``json.dumps(to_dict(trace), ensure_ascii=False,
    separators=(",", ":"))`` plus a newline (tests/test_trace_json_text.py holds
    the two equal); :func:`dump_bytes` writes it.
    """
    return dump_bytes(trace).decode("utf-8")


def dump_bytes(trace: Trace) -> bytes:
    """:func:`dumps` as UTF-8 bytes, written piece by piece for speed: a packed
    array's base64 goes in as bytes as it is (the encoder would scan megabytes of
    it for characters to escape, and a text holding one Chinese token widens all
    of it to 2 or 4 bytes a character), and the vocabulary's and each small
    parameter's text are remembered (the live explorer writes the same ones at
    every request)."""
    return b"".join(_pieces(trace))


def _pieces(trace: Trace) -> Iterator[bytes]:
    """The UTF-8 text of :func:`dumps`, piece by piece."""
    for n, (key, value) in enumerate(_head(trace).items()):
        yield f'{"," if n else "{"}"{key}":'.encode()
        yield _vocab_bytes(trace.vocab) if key == "vocab" else _bytes(value)
    yield b',"params":{'
    if not trace.config.model:
        yield b",".join(
            _bytes(k) + b":" + _param_bytes(v) for k, v in trace.params.items()
        )
    yield b'},"stages":['
    for n, s in enumerate(trace.stages):
        yield (b"," if n else b"") + _bytes(_stage_head(s))[:-1] + b',"value":'
        yield _array_bytes(s.value)
        yield b"}"
    yield b"]}\n"


def _head(trace: Trace) -> dict[str, Any]:
    """The top-level fields before ``params`` and ``stages``."""
    return {
        "schema": SCHEMA,
        "config": trace.config.to_dict(),
        "vocab": list(trace.vocab),
        **({"weights": trace.weights} if trace.weights else {}),
        "tokens": {
            "source": _tokens_to_dict(trace.source),
            "target": None if trace.target is None else _tokens_to_dict(trace.target),
        },
    }


def _stage_head(s: Stage) -> dict[str, Any]:
    return {
        "name": s.name,
        "op": str(s.op),
        "inputs": list(s.inputs),
        "shape": list(s.shape),
    }


def _bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _array_bytes(value: np.ndarray) -> bytes:
    """The UTF-8 JSON text of :func:`_array_to_json` of ``value``."""
    if value.dtype.type in _PACKED_TYPES and value.size > PACK_ABOVE:
        kind = value.dtype.name
        shape = _bytes(list(value.shape))
        return b'{"shape":%b,"%b":"%b"}' % (shape, kind.encode(), _base64(value))
    return _bytes(_array_to_json(value))


def _param_bytes(value: np.ndarray) -> bytes:
    """:func:`_array_bytes` of a parameter, remembered by its bytes when small."""
    if value.size > PACK_ABOVE:
        return _array_bytes(value)
    return _remembered_bytes(value.dtype.str, value.shape, value.tobytes())


@functools.lru_cache(maxsize=4)
def _vocab_bytes(vocab: tuple[str, ...]) -> bytes:
    """The vocabulary's text, remembered (SmolLM2's 49,152 tokens take 20 ms)."""
    return _bytes(list(vocab))


@functools.lru_cache(maxsize=512)
def _remembered_bytes(dtype: str, shape: tuple[int, ...], data: bytes) -> bytes:
    return _array_bytes(np.frombuffer(data, dtype).reshape(shape))


def loads(text: str, *, source: str = "trace") -> Trace:
    """Read a trace written by :func:`dumps` or by another program.

    ``source`` names the file in error messages.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        # str(err), with its place in words of the language in use.
        raise ValueError(
            _(
                "{source} is not valid JSON: {problem}: line {line} column {column} "
                "(char {char})"
            ).format(
                source=source,
                problem=err.msg,
                line=err.lineno,
                column=err.colno,
                char=err.pos,
            )
        ) from None
    except RecursionError:
        raise ValueError(
            _(
                "{source} is nested too deeply to be a trace (a trace's arrays have "
                "at most 3 dimensions: heads, rows, columns)"
            ).format(source=source)
        ) from None
    return from_dict(data, source=source)


def from_dict(data: Any, *, source: str = "trace") -> Trace:
    """Build a :class:`Trace` from parsed JSON, checking every field."""
    if not isinstance(data, dict):
        raise ValueError(
            _("{source}: the top level must be a JSON object").format(source=source)
        )
    for key in ("schema", "config", "tokens", "params", "stages"):
        if key not in data:
            raise ValueError(
                _("{source}: missing top-level field {key}").format(
                    source=source, key=repr(key)
                )
            )
    if data["schema"] != SCHEMA:
        raise ValueError(
            _("{source}: schema {schema} is not supported; expected {expected}").format(
                source=source, schema=repr(data["schema"]), expected=repr(SCHEMA)
            )
        )
    try:
        cfg = config_mod.from_dict(data["config"])
    except (TypeError, ValueError, AttributeError) as err:
        raise ValueError(
            _("{source}: bad config: {problem}").format(source=source, problem=err)
        ) from None
    tokens = data["tokens"]
    if not isinstance(tokens, dict) or "source" not in tokens:
        raise ValueError(
            _("{source}: 'tokens' must be an object with 'source'").format(
                source=source
            )
        )
    params = {
        name: _array_from_json(
            value,
            cfg.dtype,
            _("{source}: param {name}").format(source=source, name=repr(name)),
        )
        for name, value in _expect(
            data["params"], dict, _field(source, "params")
        ).items()
    }
    stages = tuple(
        _stage_from_dict(s, cfg.dtype, source, i)
        for i, s in enumerate(_expect(data["stages"], list, _field(source, "stages")))
    )
    vocab = data.get("vocab")
    check_model_trace(
        cfg, params, stages, vocab if isinstance(vocab, list) else None, source
    )
    if cfg.model and not params:
        from explainer.models import load_params

        params = dict(load_params(cfg.model))
    if vocab is None:
        n = max((p.shape[0] for k, p in params.items() if k == "embedding"), default=0)
        vocab = [f"#{i}" for i in range(n)]
    return Trace(
        config=cfg,
        vocab=tuple(_expect(vocab, list, _field(source, "vocab"))),
        source=_tokens_from_dict(
            tokens["source"], _field(source, "tokens.source", quote=False)
        ),
        target=None
        if tokens.get("target") is None
        else _tokens_from_dict(
            tokens["target"], _field(source, "tokens.target", quote=False)
        ),
        params=params,
        stages=stages,
        weights=_expect(data.get("weights", ""), str, _field(source, "weights")),
    )


def _field(where: str, name: str, *, quote: bool = True) -> str:
    """``where`` narrowed to the field ``name``: ``trace.json: 'params'``."""
    return _("{where}: {field}").format(
        where=where, field=repr(name) if quote else name
    )


_MUST_BE = {
    dict: N_("{where} must be a JSON object"),
    list: N_("{where} must be a JSON list"),
    str: N_("{where} must be a JSON str"),
}


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise ValueError(_(_MUST_BE[kind]).format(where=where))
    return value


def _tokens_to_dict(tokens: Tokens) -> dict[str, Any]:
    return {
        "text": tokens.text,
        "tokens": list(tokens.tokens),
        "ids": list(tokens.ids),
        "unknown": list(tokens.unknown),
    }


def _tokens_from_dict(data: Any, where: str) -> Tokens:
    _expect(data, dict, where)
    try:
        return Tokens(
            text=str(data.get("text", "")),
            tokens=tuple(str(t) for t in data["tokens"]),
            ids=tuple(int(i) for i in data["ids"]),
            unknown=tuple(str(u) for u in data.get("unknown", ())),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            _("{where}: needs 'tokens' and integer 'ids' ({problem})").format(
                where=where, problem=err
            )
        ) from None


def _stage_from_dict(data: Any, dtype: str, source: str, index: int) -> Stage:
    where = _("{source}: stage #{index}").format(source=source, index=index)
    _expect(data, dict, where)
    for key in ("name", "op", "inputs", "value"):
        if key not in data:
            raise ValueError(
                _("{where}: missing field {key}").format(where=where, key=repr(key))
            )
    where = _("{source}: stage {name}").format(source=source, name=repr(data["name"]))
    try:
        op = Op(data["op"])
    except ValueError:
        raise ValueError(
            _("{where}: unknown op {op}; valid ops: {ops}").format(
                where=where, op=repr(data["op"]), ops=", ".join(Op)
            )
        ) from None
    kind = "int64" if op in INT_OPS else "bool" if op in BOOL_OPS else dtype
    value = _array_from_json(data["value"], kind, where)
    if "shape" in data:
        _expect(data["shape"], list, _field(where, "shape"))
    if "shape" in data and list(value.shape) != list(data["shape"]):
        raise ValueError(
            _("{where}: value has shape {shape} but 'shape' says {said}").format(
                where=where, shape=list(value.shape), said=list(data["shape"])
            )
        )
    inputs = tuple(
        str(i) for i in _expect(data["inputs"], list, _field(where, "inputs"))
    )
    return Stage(str(data["name"]), op, inputs, value)


def _array_to_json(value: np.ndarray) -> Any:
    if value.dtype.type in _PACKED_TYPES and value.size > PACK_ABOVE:
        return {
            "shape": list(value.shape),
            value.dtype.name: _base64(value).decode("ascii"),
        }
    if value.dtype == np.float32:  # each float32's shortest decimal, as a float64
        value = value.astype(str).astype(np.float64)
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        obj = value.astype(object)
        obj[np.isneginf(value)] = "-inf"
        obj[np.isposinf(value)] = "inf"
        obj[np.isnan(value)] = "nan"
        return obj.tolist()
    return value.tolist()


def _base64(value: np.ndarray) -> bytes:
    """The base64 of the array's little-endian bytes."""
    little = np.ascontiguousarray(value, value.dtype.newbyteorder("<"))
    return base64.b64encode(little.data)


def _array_from_json(value: Any, dtype: str, where: str) -> np.ndarray:
    if isinstance(value, dict):
        arr = _unpack(value, where)
    else:
        try:
            arr = np.array(value)
            if arr.dtype == object or arr.dtype.kind in "US":
                arr = np.array(_decode_nonfinite(value))
        except ValueError as err:
            raise ValueError(
                _("{where}: not a rectangular array ({problem})").format(
                    where=where, problem=err
                )
            ) from None
    if arr.dtype == object or arr.dtype.kind in "US":
        raise ValueError(
            _("{where}: holds values that are not numbers").format(where=where)
        )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(_("{where}: holds NaN").format(where=where))
    if dtype == "bool":
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(
                _("{where}: a mask may hold only true/false (or 1/0)").format(
                    where=where
                )
            )
        return arr.astype(bool)
    if dtype == "int64" and arr.dtype.kind == "f":
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(_("{where}: holds non-integer ids").format(where=where))
    return arr.astype(dtype)


def _unpack(value: dict[str, Any], where: str) -> np.ndarray:
    """A packed array: ``{"shape": [...], "float32" or "float64": base64 bytes}``."""
    kinds = [k for k in PACKED if k in value]
    if len(kinds) != 1 or set(value) != {"shape", kinds[0]}:
        raise ValueError(
            _(
                "{where}: a packed array is an object with 'shape' and one of "
                "{kinds} (base64 bytes); got keys {keys}"
            ).format(
                where=where,
                kinds=_(" or ").join(map(repr, PACKED)),
                keys=sorted(value),
            )
        )
    shape = value["shape"]
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ValueError(
            _("{where}: 'shape' must be a list of sizes, got {shape}").format(
                where=where, shape=repr(shape)
            )
        )
    kind = np.dtype(kinds[0]).newbyteorder("<")
    try:
        data = base64.b64decode(value[kinds[0]], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ValueError(
            _("{where}: {kind} is not base64").format(where=where, kind=repr(kinds[0]))
        ) from None
    count = math.prod(shape)
    if len(data) != count * kind.itemsize:
        raise ValueError(
            _(
                "{where}: {got} bytes of {kind} do not fill shape {shape} "
                "({need} bytes)"
            ).format(
                where=where,
                got=len(data),
                kind=kinds[0],
                shape=shape,
                need=count * kind.itemsize,
            )
        )
    return np.frombuffer(data, kind).reshape(shape).astype(kinds[0])


def _decode_nonfinite(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_nonfinite(v) for v in value]
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    return value
