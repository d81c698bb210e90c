"""One house style for the book's figures: titled, labelled, readable on a laptop screen.

Figures are stored as PNG in the notebooks (the output comparison does not compare PNG bytes; SVG
would embed random ids).
"""

from __future__ import annotations

from . import _checks

__all__ = ["COLORS", "labelled", "use_house_style"]

# Colour-blind-safe (Okabe-Ito) colours, used consistently across chapters.
COLORS = {
    "sgd": "#0072B2",
    "momentum": "#D55E00",
    "adam": "#009E73",
    "picture": "#000000",
    "torch": "#E69F00",
    "paddle": "#56B4E9",
    "grey": "#999999",
}


def use_house_style() -> None:
    """Set matplotlib's defaults for every figure in the book (PNG output, sizes, grid)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.figsize": (7.0, 3.6),
            # 2 pixels per CSS pixel of the 688-px text column: sharp on high-density
            # screens (the site serves them as 256-colour PNGs, a third of the bytes)
            "figure.dpi": 200,
            "savefig.dpi": 200,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            # sizes for a phone too, where a figure is shown at about half its width
            "font.size": 10.5,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 9.5,
            "legend.frameon": False,
        }
    )
    if _in_ipython():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")


def labelled(ax, *, title: str, xlabel: str, ylabel: str):
    """Give an axes its title and axis labels; refuses empty strings."""
    for name, value in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)):
        _checks.text(name, value, what="a non-empty string: every figure in the book is labelled")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
