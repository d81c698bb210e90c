"""Time a learning-rate × weight-decay AdamW grid: a loop of torch.optim runs vs one batched computation.

Same grid, same initial weights, same minibatches; prints both times, the speed-up and
the largest weight difference between the two. A measurement, never a test.

    .venv/bin/python benchmarks/batched_grid.py
"""

from __future__ import annotations

import itertools
import time

import torch

from decaylab.data import digits_split
from decaylab.stacked import BatchedOptimizer, StackedMLP, fit_classifiers, minibatch_orders

LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
WDS = [0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]
BATCH, EPOCHS = 64, 8  # 1000 training images: 15 minibatches an epoch, 120 steps


def model():
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


def main() -> None:
    data = digits_split(seed=0)
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    grid = list(itertools.product(LRS, WDS))
    torch.manual_seed(0)
    init = model().state_dict()
    # The same minibatches for every run, in the order fit_classifiers uses for seed 7.
    batches = [
        perm[0, k : k + BATCH]
        for perm in minibatch_orders([7], len(x), EPOCHS)
        for k in range(0, len(x) - BATCH + 1, BATCH)
    ]

    start = time.perf_counter()
    loop_models = []
    for lr, wd in grid:
        m = model()
        m.load_state_dict(init)
        opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=wd)
        for idx in batches:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(x[idx]), y[idx]).backward()
            opt.step()
        loop_models.append(m)
    loop_s = time.perf_counter() - start

    start = time.perf_counter()
    models = []
    for _ in grid:
        m = model()
        m.load_state_dict(init)
        models.append(m)
    stack = StackedMLP.from_modules(models)
    opt = BatchedOptimizer(
        stack.parameters(),
        kind="adam",
        decoupled=True,
        lr=[g[0] for g in grid],
        weight_decay=[g[1] for g in grid],
    )
    fit_classifiers(stack, opt, x, y, epochs=EPOCHS, batch_size=BATCH, order_seeds=[7] * len(grid))
    batched_s = time.perf_counter() - start

    worst = 0.0
    for i, m in enumerate(loop_models):
        linears = [layer for layer in m if isinstance(layer, torch.nn.Linear)]
        for k, lin in enumerate(linears):
            worst = max(worst, (stack.weights[k][i].detach().T - lin.weight.detach()).abs().max().item())
    print(
        f"AdamW grid: {len(LRS)} learning rates x {len(WDS)} weight decays = {len(grid)} runs, {len(batches)} minibatch steps of {BATCH}"
    )
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"{'method':34s} {'seconds':>8s}")
    print(f"{'loop of separate torch.optim runs':34s} {loop_s:8.2f}")
    print(f"{'one batched computation':34s} {batched_s:8.2f}   (decaylab.stacked.fit_classifiers)")
    print(f"speed-up: {loop_s / batched_s:.1f}x   largest weight difference: {worst:.1e}")


if __name__ == "__main__":
    main()
