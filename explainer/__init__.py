"""explainer: the Transformer (Vaswani et al. 2017) derived with SymPy, computed with
NumPy, checked one against the other, and shown as reports and videos."""

from explainer.config import ModelConfig
from explainer.run import trace_sentence
from explainer.trace import Op, Stage, Trace

__all__ = ["ModelConfig", "Op", "Stage", "Trace", "explain", "trace_sentence"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``explain`` is imported on first use: it needs SymPy and Jinja2, which
    ``import explainer`` alone should not load."""
    if name == "explain":
        from explainer.report import explain

        return explain
    raise AttributeError(f"module 'explainer' has no attribute {name!r}")
