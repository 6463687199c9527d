"""The one colour language of the videos and the report, defined once.

Queries, keys and values, the heads, attention weights (and every other
probability: one sequential colour map), positive and negative numbers (one
diverging colour map), and the three parts of the model (encoder, decoder,
output). ``scenes/common.py`` draws with these colours on the videos' black
background; the report's style sheet gets them as CSS custom properties from
:func:`css_properties` (``templates/report.css`` uses ``var(--q)``, ``var(--w-3)``,
…), so that a colour means the same thing in both.

The ramps are ColorBrewer's (Brewer, Harrower & The Pennsylvania State
University): Purples for probabilities, RdBu for signed numbers. Text drawn on a
cell of a ramp takes :func:`ink_on`, dark or white, so that it reaches WCAG 2.1
AA (4.5 : 1) on every step.

>>> min(contrast(c, ink_on(c)) for c in WEIGHTS + DIVERGING) >= AA
True
"""

from __future__ import annotations

Q = "#3d8bd9"  # queries: blue
K = "#2ca25f"  # keys: green
V = "#e6862e"  # values: orange

HEADS = (  # head 1, head 2, …: the report's attention views use the same list
    "#1f6fb4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
)

WEIGHTS = (  # probabilities 0 → 1 (attention weights, output probabilities)
    "#fcfbfd",
    "#efedf5",
    "#dadaeb",
    "#bcbddc",
    "#9e9ac8",
    "#807dba",
    "#6a51a3",
    "#54278f",
    "#3f007d",
)
WEIGHT = WEIGHTS[5]  # one colour for weights on the videos' black background

DIVERGING = (  # −largest → 0 → +largest: negative blue, positive red
    "#2166ac",
    "#4393c3",
    "#92c5de",
    "#d1e5f0",
    "#f7f7f7",
    "#fddbc7",
    "#f4a582",
    "#d6604d",
    "#b2182b",
)
NEGATIVE = DIVERGING[1]
POSITIVE = DIVERGING[7]

ENCODER = "#6f9fe0"  # the encoder stack
DECODER = "#e0a050"  # the decoder stack
OUTPUT = "#6fbf7f"  # linear + softmax on top

HIGHLIGHT = "#ffd23f"  # videos: what the caption talks about
MUTED = "#b0b7c3"  # videos: labels, ellipses

INK = "#1f2328"  # the report's dark text
PAPER = "#ffffff"


def _rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"colour {colour!r} must be #rrggbb")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``.

    >>> luminance("#ffffff"), luminance("#000000")
    (1.0, 0.0)
    """

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 to 21).

    >>> round(contrast("#000000", "#ffffff"), 1)
    21.0
    """
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


AA = 4.5  # WCAG 2.1 AA: the least contrast of normal-size text


def ink_on(background: str) -> str:
    """The text colour for a cell of ``background``: the report's ink if it
    reaches AA there, else black or white, whichever contrasts more.

    >>> ink_on("#ffffff"), ink_on("#807dba"), ink_on("#3f007d")
    ('#1f2328', '#000000', '#ffffff')
    """
    if contrast(INK, background) >= AA:
        return INK
    return max(("#000000", PAPER), key=lambda ink: contrast(ink, background))


def along(ramp: tuple[str, ...], t: float) -> str:
    """The colour a fraction ``t`` (0 … 1, clipped) of the way along ``ramp``,
    linear between its steps (``templates/report.js`` does the same with the
    ramps it reads from the page's CSS custom properties).

    >>> along(WEIGHTS, 0.0) == WEIGHTS[0], along(DIVERGING, 1.0) == DIVERGING[-1]
    (True, True)
    >>> along(("#000000", "#ffffff"), 0.5)
    '#808080'
    """
    x = max(0.0, min(1.0, t)) * (len(ramp) - 1)
    i = min(int(x), len(ramp) - 2)
    f = x - i
    a, b = _rgb(ramp[i]), _rgb(ramp[i + 1])
    mixed = (round(255 * (p + (q - p) * f)) for p, q in zip(a, b, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def tint(colour: str, amount: float) -> str:
    """``colour`` mixed with white: ``amount`` of the colour (0 → white).

    >>> tint("#000000", 0.25)
    '#bfbfbf'
    """
    mixed = (round(255 * (1 - amount * (1 - c))) for c in _rgb(colour))
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def css_properties() -> str:
    """The palette as CSS custom properties (for ``:root`` of the report)."""
    pairs = [("q", Q), ("k", K), ("v", V)]
    pairs += [(f"head-{i}", c) for i, c in enumerate(HEADS, start=1)]
    for name, ramp in (("w", WEIGHTS), ("d", DIVERGING)):
        for i, c in enumerate(ramp):
            pairs += [(f"{name}-{i}", c), (f"{name}-{i}-ink", ink_on(c))]
    pairs += [("positive", POSITIVE), ("negative", NEGATIVE)]
    pairs += [("enc", tint(ENCODER, 0.16)), ("dec", tint(DECODER, 0.16))]
    pairs += [("out", tint(OUTPUT, 0.16))]
    return " ".join(f"--{name}: {value};" for name, value in pairs)
