"""Render the HTML report: one self-contained page from a trace and its checks.

The page is made by Jinja2 templates (``explainer.templates``, autoescape on); the
attention views get their numbers through ``tojson``. The same inputs give the same
bytes: no timestamps, no random ids.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from explainer import i18n
from explainer.atomic import write_atomic
from explainer.palette import css_properties
from explainer.report import translate
from explainer.report.context import build_context
from explainer.token_text import visible
from explainer.trace import Trace
from explainer.verify import CheckResult, verify
from explainer.verify.backward import forward_only

if TYPE_CHECKING:
    from explainer.train.learning import Learning


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates.

    Compiled templates are cached in the system's temporary folder (Jinja2's
    FileSystemBytecodeCache, keyed by the templates' source), which saves about
    0.15 s a run; the output does not depend on it.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("explainer.templates", "."),
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.filters["visible"] = visible  # a token as a one-line label
    env.globals["palette_css"] = css_properties()  # report.css's colours
    # {% trans %} and _() in the language in use (explainer.i18n), when rendered;
    # pgettext() for words that are not prose (a script's), without a term's English
    env.install_gettext_callables(
        translate.gettext, translate.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.globals["language"] = i18n.current
    env.filters.update(
        t=translate.text,
        label=translate.label,
        support=translate.support,
        tally=translate.tally,
        weights=translate.weights,
    )
    return env


def render_report(
    trace: Trace,
    results: Iterable[CheckResult],
    videos: Sequence[Video] = (),
    learning: Learning | None = None,
) -> str:
    """The report page of ``trace``, with ``results`` (from :func:`verify`) shown
    beside the stages they checked, ``videos`` of the same trace embedded, and
    ``learning`` (the training run of its weights) as a "Watch it learn" section.
    A trace with backward stages gets a "One gradient, backwards" section; verify's
    rows for them are counted in the summary."""
    from explainer.report.gradient_flow import gradient_flow
    from explainer.report.learning import learning_view

    context = build_context(forward_only(trace), results)
    context["videos"] = list(videos)
    context["learning"] = learning_view(learning) if learning else None
    context["gradient"] = gradient_flow(trace)
    with translate.page():  # a term's English at its first use on the page
        return environment().get_template("report.html.j2").render(**context)


@dataclass(frozen=True)
class Video:
    """A rendered video of this trace: its scene name, a title, a relative link."""

    name: str
    title: str
    href: str


def find_videos(page: str | Path, trace: Trace) -> list[Video]:
    """The videos in ``videos/`` beside ``page`` that were rendered from this very
    trace (see :mod:`explainer.render.manifest`): the whole pass first, then the
    scenes in forward order; links relative to the page."""
    folder = Path(page).parent
    if not (folder / "videos").is_dir():
        return []  # no videos: the renderer's modules need not be imported
    from explainer.render.manifest import read_manifest, videos_of
    from explainer.render.registry import SCENES

    if not read_manifest(folder / "videos"):
        return []  # nothing rendered here: no need to hash the trace (seconds for
        # a pretrained model, and the trace's whole JSON text in memory)
    found = videos_of(folder / "videos", trace)
    order = ["transformer", *SCENES]
    titles = {"transformer": "The whole forward pass, one stage after another"}
    titles.update({name: spec.title for name, spec in SCENES.items()})
    return [
        Video(name, titles.get(name, name), os.path.relpath(found[name], folder))
        for name in sorted(found, key=lambda n: order.index(n) if n in order else 99)
    ]


@dataclass(frozen=True)
class Report:
    """A rendered report; shows itself inline in a Jupyter notebook."""

    trace: Trace
    results: tuple[CheckResult, ...]
    html: str

    def _repr_html_(self) -> str:
        """The page in a sandboxed ``<iframe srcdoc>``, so that its styles and
        scripts stay out of the notebook's; the frame grows to the page's height
        and in-page links scroll the notebook (``notebook.html.j2``).

        Each call gets its own id, so one report shown twice in a notebook, or
        outputs saved by an earlier kernel, do not answer each other's frames.
        """
        import uuid

        template = environment().get_template("notebook.html.j2")
        return template.render(
            page=self.html,
            height=900,  # until the page posts its height, or if scripts are off
            id=f"explainer-report-{uuid.uuid4().hex[:12]}",
            sentence=self.trace.source.text,
        )

    def __repr__(self) -> str:
        passed = sum(r.ok and not r.skipped for r in self.results)
        return (
            f"<Report of {self.trace.source.text!r}: {passed} of "
            f"{len(self.results)} checks passed, {len(self.html):,} characters>"
        )

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (atomically) and return the path."""
        return write_atomic(path, self.html)

    def __str__(self) -> str:
        return self.html


def explain(
    sentence: str,
    *,
    target: str | None = None,
    corpus: str | Path | None = None,
    prove: bool = False,
    **config: Any,
) -> Report:
    """Run the model on ``sentence``, verify it, and return the report.

    ``config`` holds :class:`~explainer.config.ModelConfig` fields (e.g.
    ``architecture="decoder"``, ``d_model=8``); ``corpus`` a text file whose words
    form the vocabulary; ``prove`` also proves every derivation step and redoes
    the pass at 50 digits (slower).

    >>> report = explain("you win or you die", n_layers=1)
    >>> "you win or you die" in report._repr_html_()
    True
    """
    from explainer.config import from_dict
    from explainer.run import trace_sentence
    from explainer.tokenizer import Tokenizer, load_corpus

    cfg = from_dict(config)
    tokenizer = Tokenizer.from_corpus(load_corpus(corpus))
    trace = trace_sentence(cfg, sentence, target=target, tokenizer=tokenizer)
    results = tuple(verify(trace, derivations=prove, precision=prove))
    return Report(trace, results, render_report(trace, results))
