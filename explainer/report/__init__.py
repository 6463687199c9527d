"""The HTML derivation report: every stage of a trace with its formula, derivation,
numbers and verification result, on one self-contained page.

``build`` renders it (:func:`render_report`, :func:`explain`); ``context`` turns
a trace into plain data, section by section (``grouping`` decides which stages go
together, ``sections`` fills the paper's sections and ``variants`` those of the
pretrained models: RMSNorm, RoPE, GQA, SwiGLU, learned positions, pooling);
``tables``, ``figures``, ``variant_figures``, ``diagram`` and ``views`` shape the
numbers for tables, pictures and the attention views; ``tokens`` shows byte-level
BPE tokens as text; ``mathml``, ``formulas`` and ``derivations`` print the SymPy
objects; ``checks`` sorts the verification results by stage. The templates live
in ``explainer.templates``.
"""

from explainer.report.build import Report, Video, explain, find_videos, render_report

__all__ = ["Report", "Video", "explain", "find_videos", "render_report"]
