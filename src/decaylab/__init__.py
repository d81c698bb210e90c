"""decaylab: the small helper package behind *Weight Decay, Verified*.

What lives here is what two chapters, or a chapter and a test, need:

* :mod:`decaylab.reference`: a NumPy reference of one optimizer step (SGD, momentum,
  Adam; coupled L2/L1 penalty or decoupled decay) that every framework result is
  checked against;
* :mod:`decaylab.bridges`: the same weights in a PyTorch module and a Paddle layer;
* :mod:`decaylab.claims`: how a chapter states and checks a claim;
* :mod:`decaylab.explorer`: what decay alone does to one weight, in closed form and by the
  reference (the primer's figures and its interactive figure);
* :mod:`decaylab.stats`: decision rules for claims about training outcomes (many seeds);
* :mod:`decaylab.verdicts`: the four verdicts a claim can get;
* :mod:`decaylab.data`: the toy line of post 003 and scikit-learn's digits;
* :mod:`decaylab.stacked`: many small MLPs trained as one batched computation;
* :mod:`decaylab.rosetta`: every way to ask for regularization in PyTorch, Paddle and
  Keras 3, run and identified against the reference;
* :mod:`decaylab.notebook`: quiet notebook setup, capturing log messages;
* :mod:`decaylab.plotting`: the house style of the figures.

Ideas that only one chapter explains stay in that chapter, visible to the reader. What builds
the book (its files, the ledger, the Chinese edition, the Sphinx extension, the test tools) is
the separate package ``decaylab_book``; ``decaylab`` knows nothing of it, and works from a
regular install.
"""

from .claims import claim, close, compare, measured, within
from .reference import ReferenceOptimizer, reference_step, replay_error

__version__ = "0.1.0"

__all__ = [
    "ReferenceOptimizer",
    "claim",
    "close",
    "compare",
    "measured",
    "reference_step",
    "replay_error",
    "within",
]
