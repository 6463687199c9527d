"""explainer: the Transformer (Vaswani et al. 2017) derived with SymPy, computed with
NumPy, checked one against the other, and shown as reports and videos."""

from explainer.config import ModelConfig
from explainer.run import trace_sentence
from explainer.trace import Op, Stage, Trace

__all__ = ["ModelConfig", "Op", "Stage", "Trace", "trace_sentence"]
__version__ = "0.1.0"
