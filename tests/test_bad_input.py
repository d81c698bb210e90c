"""Bad input that used to pass silently or with a misleading message (issue: every verdict follows
from its evidence, section 7): each is refused, naming the argument and what is accepted."""

import math
from dataclasses import replace

import pytest

from decaylab.claims import ClaimRecord, Evidence, close
from decaylab.reference import reference_step
from decaylab.stats import mean_effect
from decaylab_book.ledger import evidence_summary


def test_none_is_refused_as_none_not_as_a_nan():
    with pytest.raises(TypeError, match=r"^w must be an array of real numbers; got None$"):
        reference_step(None, [0.1], optimizer="sgd", lr=0.1)
    with pytest.raises(TypeError, match=r"got None among its elements"):
        mean_effect([0.1, None] * 10, quantity="q", margin=0.1)
    with pytest.raises(TypeError, match=r"^desired must be an array of real numbers; got None$"):
        close("x", [1.0], None, atol=0.1)
    with pytest.raises(TypeError, match=r"^actual must be an array of real numbers; got None$"):
        close("x", None, [1.0], atol=0.1)


GOOD = mean_effect([0.3, 0.5] * 10, quantity="gain", margin=0.1)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"outcome": "maybe"}, ValueError, "outcome must be one of"),
        ({"estimate": math.nan}, ValueError, "estimate must be finite"),
        ({"low": math.nan, "high": math.nan, "estimate": math.nan}, ValueError, "must be finite"),
        ({"low": 0.9}, ValueError, r"low <= estimate <= high"),
        (
            {"outcome": "does not hold"},
            ValueError,
            r"outcome must be what the interval and margin give \('holds'\)",
        ),
        ({"n": 1}, ValueError, "n must be >= 2"),
        ({"margin": 0.0}, ValueError, "margin must be > 0"),
        ({"confidence": 1.0}, ValueError, "confidence must be < 1"),
        ({"digits": 2.5}, TypeError, "digits must be a whole number"),
        ({"quantity": ""}, ValueError, "quantity must be a non-empty string"),
    ],
)
def test_a_hand_built_decision_must_be_one_the_rule_could_make(changes, error, message):
    with pytest.raises(error, match=message):
        replace(GOOD, **changes)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"label": "x", "passed": "no"}, TypeError, "passed must be True or False"),
        ({"label": "", "passed": True}, ValueError, "label must be a non-empty string"),
        ({"label": "x", "passed": True, "shown": 3}, TypeError, "shown must be a string"),
    ],
)
def test_evidence_validates_itself(kwargs, error, message):
    with pytest.raises(error, match=message):
        Evidence(**kwargs)


def test_evidence_summary_refuses_a_negative_limit():
    record = ClaimRecord("c", "book", "s", "holds", (Evidence("a", True), Evidence("b", True)))
    assert evidence_summary(record, limit=0) == "; and 2 more checks" or "2 more" in evidence_summary(
        record, limit=0
    )
    with pytest.raises(ValueError, match="limit must be >= 0"):
        evidence_summary(record, limit=-1)


def test_minibatch_orders_checks_its_arguments_when_called():
    from decaylab.stacked import minibatch_orders

    for seeds in ([], "01", None):
        with pytest.raises(TypeError, match="order_seeds must be a non-empty list"):
            minibatch_orders(seeds, 10, 1)
    with pytest.raises(ValueError, match="n must be >= 1"):
        minibatch_orders([0], -1, 1)
    with pytest.raises(TypeError, match="n must be a whole number"):
        minibatch_orders([0], 2.5, 1)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        minibatch_orders([0], 10, -2)
    assert [tuple(p.shape) for p in minibatch_orders([0, 0, 1], 5, 2)] == [(3, 5), (3, 5)]


def test_reference_step_refuses_an_empty_step():
    with pytest.raises(ValueError, match="w must hold at least one weight"):
        reference_step([], [], optimizer="sgd", lr=0.1)


def test_stacked_engine_refuses_what_it_would_ignore_or_misread():
    import numpy as np
    import torch

    from decaylab.stacked import BatchedOptimizer, StackedMLP, fit_classifiers

    with pytest.raises(TypeError, match=r"weights\[0\] must be a torch tensor"):
        StackedMLP([np.zeros((2, 3, 4))], [np.zeros((2, 1, 4))])
    torch.manual_seed(0)
    stack = StackedMLP.from_modules([torch.nn.Sequential(torch.nn.Linear(3, 2)) for _ in range(2)])
    for decay in ("l2", "l1", "decoupled"):
        with pytest.raises(ValueError, match="coeff is not used by decay_mask with every entry False"):
            BatchedOptimizer(
                stack.parameters(), optimizer="sgd", lr=0.1, decay=decay, coeff=0.1, decay_mask=[False, False]
            )
    BatchedOptimizer(
        stack.parameters(), optimizer="sgd", lr=0.1, decay_mask=[False, False]
    )  # nothing to decay: fine
    for bad in (np.zeros((4, 3), dtype=np.float32), None, [[0.0, 0.0, 0.0]]):
        with pytest.raises(TypeError, match=r"x must be a torch tensor of shape \[B, in\] or \[M, B, in\]"):
            stack(bad)
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1)
    x, y = torch.zeros(4, 3), torch.tensor([0, 1, 0, 1])
    args = {"epochs": 1, "batch_size": 2, "order_seeds": [0, 1]}
    for bad, message in (
        ([("val", (x, y))], "eval_sets must be None or a dict"),
        ({"val": x}, r"eval_sets\['val'\] must be a pair \(x, y\)"),
        ({"": (x, y)}, "eval_sets' names must be non-empty strings"),
    ):
        with pytest.raises(TypeError, match=message):
            fit_classifiers(stack, opt, x, y, eval_sets=bad, **args)


def test_bridges_refuse_non_finite_or_missing_weights():
    import torch

    from decaylab.bridges import write_torch

    net = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"weights\['weight'\] must hold only finite numbers"):
        write_torch(net, {"weight": [[float("nan"), 0.0]], "bias": [0.0]})
    with pytest.raises(TypeError, match=r"weights\['bias'\] must be an array of real numbers; got None"):
        write_torch(net, {"weight": [[1.0, 0.0]], "bias": None})
