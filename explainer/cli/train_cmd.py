"""``explainer train``: train a toy preset on the shipped dataset with Adam, and
write its weights (safetensors) and loss curve (SVG)."""

from __future__ import annotations

from pathlib import Path

import click

from explainer.cli.errors import user_errors
from explainer.cli.lang import command_help, help_text
from explainer.i18n import N_, _
from explainer.presets import PRESETS, get_preset


def _steps(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ValueError(
            _(
                "--checkpoints {text} is not a list of step numbers such as 0,10,50"
            ).format(text=repr(text))
        ) from None


HELP = N_("""Train a toy model: the whole dataset is one batch, one Adam step at a time.
The same command writes the same bytes.""")

EXAMPLES = """\
  explainer train                       # the default translation model
  explainer train --preset next-word    # the decoder-only next-word model
  explainer trace --weights output/weights/default.safetensors
"""


@click.command("train", help=command_help(HELP, EXAMPLES))
@click.option(
    "--preset",
    default="default",
    show_default=True,
    help=help_text(
        N_("the model to train: {presets}"),
        presets=", ".join(p for p in PRESETS if PRESETS[p].task),
    ),
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help=N_("the weights file to write (default: output/weights/PRESET.safetensors)"),
)
@click.option("--steps", type=int, help=N_("Adam steps (default: 500)"))
@click.option(
    "--lr", "alpha", type=float, help=N_("Adam's step size α (default: 0.01)")
)
@click.option(
    "--warmup",
    type=int,
    help=N_("steps over which α rises (default: 30, at most a tenth of the steps)"),
)
@click.option("--seed", type=int, help=N_("seed of the initial weights (default: 0)"))
@click.option(
    "--checkpoints",
    help=N_("steps whose weights are kept in the file too (default: 0,10,50,200)"),
)
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False),
    help=N_("a translation.tsv-style file of pairs (default: the shipped one)"),
)
@click.option("--quiet", "-q", is_flag=True, help=N_("no progress bar"))
def train_command(
    preset: str,
    out: str | None,
    steps: int | None,
    alpha: float | None,
    warmup: int | None,
    seed: int | None,
    checkpoints: str | None,
    dataset: str | None,
    quiet: bool,
) -> None:
    """``explainer train`` (its --help: :data:`HELP`)."""
    from explainer import config as config_mod
    from explainer.atomic import check_writable_path, write_atomic
    from explainer.dataset import load_dataset
    from explainer.train import Settings, save_weights, train
    from explainer.train.curve import loss_curve_svg

    with user_errors():
        spec = get_preset(preset)
        if spec.task is None:
            trainable = ", ".join(p for p in PRESETS if PRESETS[p].task)
            raise ValueError(
                _(
                    "preset {preset} is not trained (its weights stay random); "
                    "train one of: {trainable}"
                ).format(preset=repr(preset), trainable=trainable)
            )
        defaults = Settings()
        steps = defaults.steps if steps is None else steps
        settings = Settings(
            steps=steps,
            alpha=defaults.alpha if alpha is None else alpha,
            warmup=min(defaults.warmup, steps // 10) if warmup is None else warmup,
            checkpoints=_steps(checkpoints),
        )
        values = dict(spec.config)
        if seed is not None:
            values["seed"] = seed
        cfg = config_mod.from_dict(values)
        target = Path(out or f"output/weights/{preset}.safetensors")
        curve = target.with_name(target.stem + "-loss.svg")
        check_writable_path(target)
        data = load_dataset(dataset)
        name = Path(dataset).name if dataset else "translation.tsv"
        with (
            click.progressbar(
                length=settings.steps,
                label=f"training {preset}",
                file=click.get_text_stream("stderr"),
                show_pos=True,
                item_show_func=lambda loss: "" if loss is None else f"loss {loss:.4f}",
            )
            if not quiet
            else _Silent() as bar
        ):
            weights = train(
                cfg,
                spec.task,
                data,
                settings,
                dataset_name=name,
                on_step=lambda t, loss: bar.update(1, loss),
            )
        save_weights(weights, target)
        title = f"{preset}: loss at each step ({weights.task})"
        write_atomic(
            curve, loss_curve_svg(weights.losses, sorted(weights.checkpoints), title)
        )
    click.echo(
        f"loss {weights.losses[0]:.4f} → {weights.final_loss:.4f} after "
        f"{settings.steps} steps; wrote {target} and {curve}"
    )


class _Silent:
    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int, current: object = None) -> None:
        return None
