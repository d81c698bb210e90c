"""Time the AdamW paper's 2×2 grid (book/adamw_figure.ipynb) on the batched engine.

On the figure's own grid (the same data, network, learning rates, decays, schedule, seeds
and epochs, read from the notebook's own cells) this prints:

* the time of ``decaylab.stacked.fit_classifiers`` for the four panels, and the rate of
  matrix-product arithmetic it achieves (GFLOP/s), for the figure's MLP and for the same
  MLP with a LayerNorm after each hidden linear layer (``norm=True``; the GFLOP count is
  the linear layers' only);
* the rate of one large ``torch.matmul`` measured in the same run: the practical peak of
  this machine with the same threads;
* the time of a loop of separate ``torch.optim`` runs (with the same cosine schedule),
  measured on the first seed's cells of every panel and scaled to all seeds, and the
  speed-up;
* each measurement repeated, interleaved, with the medians of the times and of the
  ratios measured within one repetition (other processes may share the CPU);
* the largest weight difference between the loop and the engine on those cells after one
  epoch (an exactness check; after hundreds of steps, cells trained at the largest
  learning rates are chaotic and float32 rounding differences grow).

A measurement, never a test: it prints a table and does not fail.

    .venv/bin/python benchmarks/batched_grid.py
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from pathlib import Path

import torch

from decaylab.data import mnist1d
from decaylab.stacked import (
    BatchedOptimizer,
    StackedMLP,
    cosine_multipliers,
    fit_classifiers,
    minibatch_orders,
)

NOTEBOOK = Path(__file__).resolve().parent.parent / "book" / "adamw_figure.ipynb"


def figure_grid() -> dict:
    """Run the notebook's cells that define the data and the grid; return their names."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    ns = {
        "torch": torch,
        "mnist1d": mnist1d,
        "cosine_multipliers": cosine_multipliers,
        "print": lambda *a, **k: None,
    }
    for cell in cells:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and ("# The figure's setup" in src or "PANELS = {" in src):
            exec(src, ns)
    return ns


def matmul_gflops(n: int = 1024, repeat: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    start = time.perf_counter()
    for _ in range(repeat):
        torch.matmul(a, b)
    return 2 * n**3 * repeat / (time.perf_counter() - start) / 1e9


def matmul_flops_per_sample(sizes: list[int]) -> int:
    """Multiply-adds x 2 of one sample's forward and backward (no input gradient for layer 0)."""
    layers = [a * b for a, b in itertools.pairwise(sizes)]
    return 2 * sum(layers) + 2 * sum(layers) + 2 * sum(layers[1:])


def mlp(g: dict, seed: int, norm: bool = False) -> torch.nn.Module:
    """The figure's MLP; ``norm=True``: Linear -> LayerNorm -> ReLU after each hidden layer."""
    torch.manual_seed(seed)
    layers = []
    for a, b in itertools.pairwise(g["SIZES"]):
        layers += [torch.nn.Linear(a, b), *([torch.nn.LayerNorm(b)] if norm else []), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[: -2 if norm else -1])


def torch_optimizer(params, args: dict, lr: float, decay: float):
    """The torch.optim equivalent of one cell (decay in the paper's units for decoupled panels)."""
    if args["optimizer"] == "adam":
        if args["decay"] == "decoupled_paper":  # torch shrinks by lr_t * wd = eta_t * decay
            return torch.optim.AdamW(params, lr=lr, weight_decay=decay / lr)
        return torch.optim.Adam(params, lr=lr, weight_decay=decay)
    if args["decay"] == "decoupled_paper":  # SGDW: torch has none; shrink by hand before each step
        return torch.optim.SGD(params, lr=lr, momentum=args["momentum"])
    return torch.optim.SGD(params, lr=lr, momentum=args["momentum"], weight_decay=decay)


def loop_first_seed(g: dict, x, y, name: str, epochs: int, norm: bool = False):
    """Separate torch.optim runs of the first seed's cells of one panel; returns (seconds, models)."""
    args, lrs, decays = g["PANELS"][name]
    seed = next(iter(g["SEEDS"]))
    batches = [
        perm[0, k : k + g["BATCH"]]
        for perm in minibatch_orders([1000 + seed], len(x), epochs)
        for k in range(0, len(x) - g["BATCH"] + 1, g["BATCH"])
    ]
    models = []
    start = time.perf_counter()
    for lr in lrs:
        for d in decays:
            decay = d * g["NORM"]
            m = mlp(g, seed, norm)
            opt = torch_optimizer(m.parameters(), args, lr, decay)
            for t, idx in enumerate(batches):
                eta = float(g["SCHEDULE"][t])
                for group in opt.param_groups:
                    group["lr"] = eta * lr
                opt.zero_grad()
                torch.nn.functional.cross_entropy(m(x[idx]), y[idx]).backward()
                if args["optimizer"] == "momentum" and args["decay"] == "decoupled_paper":
                    with torch.no_grad():
                        for p in m.parameters():
                            p.mul_(1 - eta * decay)
                opt.step()
            models.append(m)
    return time.perf_counter() - start, models


def train_panel(g: dict, x, y, name: str, seeds: list, epochs: int, norm: bool = False) -> StackedMLP:
    """One panel of the figure on the batched engine, as the notebook trains it
    (``norm=True``: with LayerNorm layers, every parameter decayed as in the loop)."""
    args, lrs, decays = g["PANELS"][name]
    cells = [(s, lr, d * g["NORM"]) for s in seeds for lr in lrs for d in decays]
    inits = {s: mlp(g, s, norm) for s in seeds}
    stack = StackedMLP.from_modules([inits[s] for s, _, _ in cells])
    opt = BatchedOptimizer(stack.parameters(), lr=[c[1] for c in cells], coeff=[c[2] for c in cells], **args)
    steps = epochs * (len(x) // g["BATCH"])
    fit_classifiers(
        stack, opt, x, y, epochs=epochs, batch_size=g["BATCH"], order_seeds=[1000 + c[0] for c in cells],
        schedule=g["SCHEDULE"][:steps],
    )  # fmt: skip
    return stack


#: Each measurement is repeated this many times, interleaved (peak, engine, loop, peak,
#: ...), and the table reports medians: other processes may share the CPU while it runs.
REPEATS = 3


def main() -> None:
    torch.set_flush_denormal(True)  # as fit_classifiers does, so the loop is not slowed by denormals
    g = figure_grid()
    x, y = g["data"]["x_train"], g["data"]["y_train"]
    seeds = list(g["SEEDS"])
    n_cells = sum(len(lrs) * len(ds) for _, lrs, ds in g["PANELS"].values())
    n_models = n_cells * len(seeds)
    steps = g["EPOCHS"] * (len(x) // g["BATCH"])
    flops = matmul_flops_per_sample(g["SIZES"]) * g["BATCH"] * steps * n_models

    # per repetition and variant (plain, LayerNorm): peak GFLOP/s, engine seconds, loop
    # seconds for the first seed
    runs = {False: [], True: []}
    for _ in range(REPEATS):
        for norm in (False, True):
            peaks = [matmul_gflops()]
            engine_s = 0.0
            for name in g["PANELS"]:
                start = time.perf_counter()
                train_panel(g, x, y, name, seeds, g["EPOCHS"], norm)
                engine_s += time.perf_counter() - start
                peaks.append(matmul_gflops())
            loop_s = sum(loop_first_seed(g, x, y, name, g["EPOCHS"], norm)[0] for name in g["PANELS"])
            runs[norm].append({"peak": statistics.median(peaks), "engine": engine_s, "loop": loop_s})

    worst = 0.0  # exactness: one epoch, the first seed's cells, loop vs engine
    for name in g["PANELS"]:
        stack = train_panel(g, x, y, name, seeds[:1], 1)
        for i, m in enumerate(loop_first_seed(g, x, y, name, 1)[1]):
            lins = [layer for layer in m if isinstance(layer, torch.nn.Linear)]
            for k, lin in enumerate(lins):
                diff = (stack.weights[k][i].detach().T - lin.weight.detach()).abs().max().item()
                worst = max(worst, diff)

    print(
        f"AdamW paper grid on MNIST-1D: 4 panels x {n_cells // 4} cells x {len(seeds)} seeds = "
        f"{n_models} networks {'-'.join(map(str, g['SIZES']))}, {steps} steps of {g['BATCH']}"
    )
    print(f"torch threads: {torch.get_num_threads()}; medians of {REPEATS} interleaved repetitions")
    for norm in (False, True):
        rs = runs[norm]
        peak = statistics.median(r["peak"] for r in rs)
        engine_s = statistics.median(r["engine"] for r in rs)
        loop_s = statistics.median(r["loop"] for r in rs)
        loop_all_s = loop_s * len(seeds)
        # the ratios of each repetition (measured side by side), then their medians
        of_peak = statistics.median(flops / r["engine"] / 1e9 / r["peak"] for r in rs)
        speedup = statistics.median(r["loop"] * len(seeds) / r["engine"] for r in rs)
        print()
        print("with a LayerNorm after each hidden layer (Linear, LayerNorm, ReLU)" if norm else "plain MLP")
        print(f"{'':38s} {'seconds':>8s} {'GFLOP/s':>8s}")
        print(f"{'one large torch.matmul (peak)':38s} {'':8s} {peak:8.1f}")
        print(f"{'batched engine (fit_classifiers)':38s} {engine_s:8.2f} {flops / engine_s / 1e9:8.1f}")
        print(
            f"{'loop of torch.optim runs (scaled)':38s} {loop_all_s:8.2f} {flops / loop_all_s / 1e9:8.1f}"
            f"   ({loop_s:.2f} s for seed {seeds[0]}, x {len(seeds)})"
        )
        print(f"engine: {of_peak:.0%} of the matmul peak; speed-up over the loop {speedup:.1f}x")
    print()
    print("(each ratio: the median over repetitions of the ratio measured within one repetition)")
    print(f"largest weight difference, loop vs engine, seed {seeds[0]}, one epoch: {worst:.1e}")
    print("(GFLOP counts the matrix products of forward and backward passes only)")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # a measurement: report, never fail the build
        print(f"benchmark failed: {type(exc).__name__}: {exc}")
