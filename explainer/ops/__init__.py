"""One place per op: :data:`OPS` maps every :class:`~explainer.trace.Op` to its
:class:`OpSpec`, which holds the op's NumPy function, its SymPy definition, how
verify evaluates it, its backward rules, the report section and the video scene
that explain it.

Adding an op (the README's "Adding an op" says the same for contributors):

1. name it in :class:`explainer.trace.Op`;
2. write its own files: the SymPy definition (``explainer/symbolic/<op>.py``, with
   its derivation), the NumPy function (:mod:`explainer.numeric`, or a rule in
   ``explainer/backward/`` for a gradient), the forward pass that records it;
3. add one ``OpSpec`` to the ``SPECS`` of its family here (``embedding.py``,
   ``attention.py``, ``layers.py``, ``output.py``, ``bert.py``, ``llama.py``, or a
   new family listed in :data:`~explainer.ops.registry.FAMILIES`), with an
   ``example``: tests/test_ops.py then checks the NumPy function against the
   SymPy definition on it, and ``explainer verify`` and the report pick the op up.

Until an op has an entry, importing this package fails and names it.
"""

from __future__ import annotations

# The backward pass's rules (explainer.backward.rules) read OPS, and OPS holds
# the NumPy functions of explainer.backward: importing that package first lets
# either side be imported first.
import explainer.backward  # noqa: F401  (import order, see above)
from explainer.ops.registry import OPS
from explainer.ops.spec import OpSpec

__all__ = ["OPS", "OpSpec"]
