"""The house style: every figure titled and labelled."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from decaylab.plotting import labelled, use_house_style


def test_labelled_sets_title_and_labels():
    use_house_style()
    fig, ax = plt.subplots()
    labelled(ax, title="t", xlabel="x", ylabel="y")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("t", "x", "y")
    plt.close(fig)


@pytest.mark.parametrize("empty", ["title", "xlabel", "ylabel"])
def test_labelled_refuses_an_empty_label(empty):
    fig, ax = plt.subplots()
    kwargs = {"title": "t", "xlabel": "x", "ylabel": "y", empty: "  "}
    with pytest.raises(ValueError, match=f"{empty} must be a non-empty string"):
        labelled(ax, **kwargs)
    with pytest.raises(TypeError, match=f"{empty} must be a non-empty string"):
        labelled(ax, **{**kwargs, empty: None})
    plt.close(fig)
