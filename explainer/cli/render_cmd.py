"""``explainer render``: Manim videos of the forward pass, one scene per stage."""

from __future__ import annotations

import os
from pathlib import Path

import click

from explainer.cli.check_table import check_table
from explainer.cli.errors import InputError, user_errors
from explainer.cli.lang import command_help, help_text, lang_option
from explainer.cli.options import Setup, model_options
from explainer.cli.paths import same_file
from explainer.cli.verify_cmd import load_or_run
from explainer.i18n import N_, _
from explainer.render import (
    MOVIE_NAME,
    QUALITIES,
    SCENES,
    RenderError,
    RenderOptions,
    available,
    render,
    resolve,
)
from explainer.render.lint import lint_specs
from explainer.render.manifest import MANIFEST

HELP = N_("""Render scenes NAMES (kebab-case, see --list) of the forward pass to MP4.

Each scene animates one stage with its formula and the trace's own numbers.
Videos are written to OUT_DIR/<name>.mp4 atomically, and their paths printed;
rendering the same scene of the same sentence again reuses the cache. --all
and --movie skip, with a one-line note each, the scenes the model does not
have (RoPE in the paper's model, cross-attention in a decoder, …); naming one
is an error.""")

EXAMPLES = """\
  explainer render --list
  explainer render softmax positional-encoding --quality low
  explainer render --all --quality medium --jobs 2
  explainer render --movie --sentence "When you play game of thrones"
  explainer render --movie --model smollm2 --quality low
  explainer render --check --all
"""


@click.command(name="render", help=command_help(HELP, EXAMPLES))
@lang_option
@click.argument("names", nargs=-1)
@click.option("--all", "all_scenes", is_flag=True, help=N_("render every scene"))
@click.option(
    "--list", "list_scenes", is_flag=True, help=N_("list the scenes and exit")
)
@click.option(
    "--movie",
    is_flag=True,
    help=help_text(
        N_(
            "also join the scenes into one video, {movie}.mp4 (all scenes unless "
            "NAMES are given)"
        ),
        movie=MOVIE_NAME,
    ),
)
@click.option(
    "--quality",
    type=click.Choice(list(QUALITIES)),
    default="medium",
    show_default=True,
    help=N_("480p15, 720p30, 1080p60 or 2160p60 (manim -ql/-qm/-qh/-qk)"),
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help=N_("scenes rendered at once, in separate processes (default: CPU count)"),
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default="output/videos",
    show_default=True,
    help=N_("where the videos go"),
)
@click.option(
    "--media-dir",
    type=click.Path(file_okay=False),
    default="output/.manim",
    show_default=True,
    help=N_("Manim's working folder and the scene cache"),
)
@click.option("--force", is_flag=True, help=N_("render again even if cached"))
@click.option(
    "--check",
    is_flag=True,
    help=N_(
        "write no video: run the scenes and report caption times, the smallest "
        "text in pixels, texts off the frame and overlapping, captions held over an "
        "empty picture; exit 1 on a problem"
    ),
)
@click.option(
    "--manim-cache",
    is_flag=True,
    help=N_(
        "also use Manim's per-animation cache (helps when editing a scene; "
        "slower otherwise)"
    ),
)
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(dir_okay=False),
    help=N_("animate this trace JSON instead of running the model"),
)
@model_options
def render_command(
    setup: Setup,
    names: tuple[str, ...],
    all_scenes: bool,
    list_scenes: bool,
    movie: bool,
    quality: str,
    jobs: int | None,
    out_dir: str,
    media_dir: str,
    force: bool,
    check: bool,
    manim_cache: bool,
    trace_file: str | None,
) -> None:
    """``explainer render`` (its --help: :data:`HELP`)."""
    if list_scenes:
        for spec in SCENES.values():
            needs = (
                " [" + _("needs {what}").format(what=spec.requirement) + "]"
                if spec.requirement
                else ""
            )
            click.echo(f"{spec.name:<20} {spec.title}{needs}")
        return
    if not (names or all_scenes or movie):
        raise InputError(
            _(
                "name the scenes to render, or give --all or --movie (scenes: {names})"
            ).format(names=", ".join(SCENES))
        )
    with user_errors():
        specs = resolve(names) if names else list(SCENES.values())
        trace = load_or_run(setup, trace_file)
        if not names:  # --all / --movie: the scenes this model has, one note per other
            for spec in specs:
                if spec.unavailable(trace):
                    click.echo(
                        _("skipped {name}: {why}").format(
                            name=spec.name, why=spec.unavailable(trace)
                        ),
                        err=True,
                    )
            specs = available(specs, trace)
            if not specs:
                raise ValueError(_("this trace has none of the stages the scenes show"))
        if check:
            results = lint_specs(
                trace,
                specs,
                quality=quality,
                media_dir=Path(media_dir),
                on_scene=lambda r: click.echo(
                    _("checked {name}: {n} problems").format(
                        name=r.name, n=r.violations
                    ),
                    err=True,
                ),
            )
    if check:
        click.echo(check_table(results))
        if any(not result.ok for result in results):
            click.get_current_context().exit(1)
        return
    with user_errors():
        # A named scene this model lacks: render() raises, one line, exit code 2.
        outputs = [f"{spec.name}.mp4" for spec in specs] + [f"{MOVIE_NAME}.mp4"]
        for name in [*outputs, MANIFEST]:
            for option, given in setup.inputs(trace=trace_file).items():
                if given is not None and same_file(Path(out_dir) / name, given):
                    raise ValueError(
                        _(
                            "--out-dir {out_dir} would overwrite the {option} file "
                            "{given} with {name}: move it or give another --out-dir"
                        ).format(
                            out_dir=repr(out_dir),
                            option=option,
                            given=repr(given),
                            name=name,
                        )
                    )
        options = RenderOptions(
            quality=quality,
            jobs=min(jobs or os.cpu_count() or 1, len(specs)),
            out_dir=Path(out_dir),
            media_dir=Path(media_dir),
            movie=movie,
            force=force,
            manim_cache=manim_cache,
        )
    try:
        with user_errors():
            report = render(trace, specs, options)
    except RenderError as err:
        raise click.ClickException(str(err)) from None
    for path in report.written:
        click.echo(str(path))
    fresh = len(specs) - len(report.cached)
    click.echo(
        _("{fresh} rendered, {cached} from the cache, {seconds} s").format(
            fresh=fresh, cached=len(report.cached), seconds=f"{report.total:.1f}"
        ),
        err=True,
    )
