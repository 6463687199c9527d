"""Click's own words that a user of ``explainer`` reads, marked for this catalog.

Click marks its messages with the standard library's ``gettext``;
:func:`explainer.cli.lang.click_in_language` sends them through this catalog.
They are listed here, as click writes them, so that ``scripts/i18n.sh`` extracts
them: the headings and lines of ``--help`` and the usage errors of the commands'
options and arguments. A message click changes in another version is shown in
English until it is listed again; so is click's "(Did you mean one of: …?)",
whose "mean" the glossary test would read as the term 均值.
"""

from __future__ import annotations

from explainer.i18n import N_, ngettext

HELP = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("%(prog)s, version %(version)s"),
)
"""The headings and lines of ``--help`` and ``--version``."""

ERRORS = (
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("Missing command."),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Option {name!r} does not take a value."),
    N_("Argument {name!r} takes {nargs} values."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("Aborted!"),
)
"""The usage errors (``explainer`` prints them after its own ``error:``)."""

PLURAL_ERRORS = (
    lambda n: ngettext(
        "Got unexpected extra argument ({args})",
        "Got unexpected extra arguments ({args})",
        n,
    ),
    lambda n: ngettext(
        "Option {name!r} requires an argument.",
        "Option {name!r} requires {nargs} arguments.",
        n,
    ),
    lambda n: ngettext(
        "{value!r} is not {choice}.", "{value!r} is not one of {choices}.", n
    ),
)
"""The usage errors that count something (marked with ``ngettext``)."""
