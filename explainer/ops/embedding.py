"""The ops that turn tokens into vectors (§3.4, §3.5), the additions (embedding +
PE, the residual connections), and their gradients."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType as frozen

import numpy as np

from explainer import numeric
from explainer.backward import embedding as grad
from explainer.i18n import N_
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.formula import Formula, later, symbols
from explainer.ops.lambdified import Backend, idx, matrices, matrix_formula, matrix_op
from explainer.ops.spec import OpSpec
from explainer.trace import Op

sp = later("sympy")
rules = later("explainer.ops.sympy_rules")
sym_embedding = later("explainer.symbolic.embedding")
sym_pe = later("explainer.symbolic.positional_encoding")
backward_embedding = later("explainer.symbolic.backward_embedding")
backward_residual = later("explainer.symbolic.backward_residual")
m = matrices


def _one_hot_formula() -> tuple[tuple, object]:
    t, col = symbols().t, sym_pe.col
    return (t, col), sp.KroneckerDelta(t, col).rewrite(sp.Piecewise)


def _scale_embedding_formula() -> tuple[tuple, object]:
    z, d_model = symbols().z, symbols().d_model
    return (z, d_model), sym_embedding.scale_embedding(z, d_model)


def _positional_encoding_formula() -> tuple[tuple, object]:
    args = (symbols().pos, sym_pe.col, symbols().d_model)
    return args, sym_pe.positional_encoding_expr()


ONE_HOT = Formula("one_hot", _one_hot_formula)
EMBEDDING = matrix_formula("embedding", lambda: (m.OH * m.EM, (m.OH, m.EM)))
SCALE_EMBEDDING = Formula("scale_embedding", _scale_embedding_formula)
POSITIONAL_ENCODING = Formula("positional_encoding", _positional_encoding_formula)
ADD = Formula("add", lambda: ((m.X, m.Y), m.X + m.Y))


def _one_hot(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
    ids = np.asarray(inputs[0])
    f = be.function(ONE_HOT)
    vocab = ctx.shape[-1]
    value = f(ids[..., None], idx(vocab, ids.ndim, ids.ndim + 1))
    return np.broadcast_to(value, (*ids.shape, vocab))


def _scale_embedding(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(SCALE_EMBEDDING)
    return f(be.array(inputs[0]), ctx.d_model)


def _positional_encoding(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(POSITIONAL_ENCODING)
    seq_len, width = ctx.shape[-2:]
    positions = be.array(np.arange(seq_len, dtype=np.float64)[:, None])
    columns = np.arange(width)[None, :]
    if be.name != "numpy":
        columns = be.array(columns.astype(np.float64))
        return f(positions, columns, be.number(width))
    return f(positions, columns, width)


def _add(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(ADD)
    a, b = (be.array(v) for v in inputs)
    return f(a, b)


def _residual_grad(dY: sp.Expr) -> sp.Expr:
    """dY to each branch: the first of backward_residual.residual_grads."""
    return backward_residual.residual_grads(dY)[0]


def _scale_embedding_grad(dy: sp.Expr, d: sp.Expr) -> sp.Expr:
    """dy · ∂(x·√d_model)/∂x, from the forward formula."""
    return dy * sp.diff(sym_embedding.scale_embedding(rules.z, d), rules.z)


def _rows() -> tuple[str, object, object]:
    """∂L/∂(a stage of T rows), as a rule's argument."""
    return ("dX", rules.R, rules.K)


SPECS = (
    OpSpec(
        Op.TOKEN_IDS,  # from the tokenizer: verify re-tokenizes the text
        exact=True,
        section="tokens",
        scene="tokens",
    ),
    OpSpec(
        Op.ONE_HOT,
        numeric=lambda a, c: numeric.one_hot(a[0], c.shape[-1], "float64"),
        formula=ONE_HOT,
        evaluate=_one_hot,
        gloss=N_("entry (t, col) for the token id t"),
        exact=True,
        section="embedding",
        scene="embedding",
        example=lambda r: ([ex.ids(r)], ex.context(ex.T, ex.VOCAB)),
    ),
    OpSpec(
        Op.EMBEDDING,
        numeric=lambda a, c: numeric.embedding(*a),
        formula=EMBEDDING,
        evaluate=matrix_op(EMBEDDING),
        gloss=N_("O: the one-hot rows, E: the embedding matrix"),
        grads=frozen({1: (Op.EMBEDDING_BACKWARD, ("in0", "dy"))}),
        section="embedding",
        scene="embedding",
        example=lambda r: (
            [ex.one_hot(r), ex.normal(r, ex.VOCAB, ex.D_MODEL)],
            ex.context(ex.T, ex.D_MODEL),
        ),
    ),
    OpSpec(
        Op.SCALE_EMBEDDING,
        numeric=lambda a, c: numeric.scale_embedding(a[0], c.d_model),
        formula=SCALE_EMBEDDING,
        evaluate=_scale_embedding,
        gloss=N_("each entry z"),
        grads=frozen({0: (Op.SCALE_EMBEDDING_BACKWARD, ("dy",))}),
        section="embedding",
        scene="embedding",
        example=lambda r: (
            [ex.normal(r, ex.T, ex.D_MODEL)],
            ex.context(ex.T, ex.D_MODEL),
        ),
    ),
    OpSpec(
        Op.POSITIONAL_ENCODING,
        numeric=lambda a, c: numeric.positional_encoding(*c.shape[-2:], "float64"),
        formula=POSITIONAL_ENCODING,
        evaluate=_positional_encoding,
        gloss=N_("entry (pos, col)"),
        section="positional",
        scene="positional-encoding",
        example=lambda r: ([], ex.context(ex.T, ex.D_MODEL)),
    ),
    OpSpec(
        Op.ADD,
        numeric=lambda a, c: numeric.add(*a),
        formula=ADD,
        evaluate=_add,
        gloss=N_("X, Y: the two inputs"),
        grads=frozen({0: (Op.ADD_BACKWARD, ("dy",)), 1: (Op.ADD_BACKWARD, ("dy",))}),
        section="residual",
        scene="layer-norm",
        example=lambda r: (
            [ex.normal(r, ex.T, ex.D_MODEL), ex.normal(r, ex.T, ex.D_MODEL)],
            ex.context(ex.T, ex.D_MODEL),
        ),
    ),
    OpSpec(
        Op.EMBEDDING_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad.embedding_backward(*a),
        rule="backward_embedding.table_grad: dE = Oᵀ dX",
        sympy=lambda a, c: rules.rule(
            backward_embedding.table_grad, ("O", rules.R, rules.C), _rows()
        )(rules.as_rows(a[0]), rules.as_rows(a[1])),
        example=lambda r: ([ex.one_hot(r), ex.normal(r, ex.T, ex.D_MODEL)], ex.GRAD),
    ),
    OpSpec(
        Op.SCALE_EMBEDDING_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad.scale_embedding_backward(a[0], c.d_model),
        rule="∂ embedding.scale_embedding / ∂ row: dy·√d_model",
        sympy=lambda a, c: rules.rule(_scale_embedding_grad, rules.dy, rules.n)(
            a[0], c.d_model
        ),
        example=lambda r: ([ex.normal(r, ex.T, ex.D_MODEL)], ex.GRAD),
    ),
    OpSpec(
        Op.ADD_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad.add_backward(*a),
        rule="backward_residual.residual_grads: dY to both branches",
        sympy=lambda a, c: rules.rule(_residual_grad, _rows())(a[0]),
        example=lambda r: ([ex.normal(r, ex.T, ex.D_MODEL)], ex.GRAD),
    ),
    OpSpec(
        Op.GRAD_SUM,  # the chain rule's sum of a stage's uses: no SymPy rule
        backward=True,
        numeric=lambda a, c: grad.grad_sum(*a),
    ),
)
