"""Other successive-halving rules than mo_asha's, replayed on the same recorded learning curves.

../shared/BENCHMARKS.md §2 asks early stopping to reach 95% of the full-budget front's hypervolume
with at most a third of the compute; mo_asha's default (grace 1, reduction 3) needs a little more
(docs/benchmarks.md). This script replays the rules tried instead, on every objective pair and box
of that section, so that the next change is measured against them rather than tried again:

    .venv/bin/python benchmarks/stopping_rules.py --orders 300 [--jobs 2]

A rule here is the scheduler's own (``hpsearch.search.MOSuccessiveHalving``) with one or more of:

- ``floor``: at a rung of n trials the best ``max(1, n // r)`` go on (the ASHA paper's count)
  instead of ``max(1, ceil(n / r))`` (Ray Tune's and Syne Tune's stopping rule);
- ``protected``: past the first rung, a trial that no other learning trial at its rung dominates goes
  on whatever its place;
- ``predicted``: also stopped at a rung where the trials that ran to their end (at least
  ``PREDICT_AFTER``) dominate its optimistic end: per objective, the line from those trials' values at
  that rung to their last values, at its own value, less ``PREDICT_SLACK`` residual standard deviations;
- ``static median``: also stopped at the first rung where it is worse than the median of the trials
  there on an objective training does not change (one whose every configuration has one value at
  every epoch in the table: latency, measured once on the deployed model), which the median box values
  at nothing, and counted last at the later rungs (so that they keep a third of every trial that started,
  not of the faster half);
- ``epsilon-net``: a front's trials placed as Syne Tune's MOASHA places them by default
  (``epsilon_net``) instead of by crowding distance;
- ``halved among the learning``: the count going on at a rung taken of its trials whose predictions
  had not collapsed.

The last two rows are the product as it runs: the trainer's collapse watch (``collapse.patience``, 1
by default; the recording turned it off) stops a trial whose predictions collapsed, after the rule has
heard that epoch, with mo_asha and without (fifo); ``as_shipped`` says what they need against the target.

Each is replayed by ``learning_curves.measure`` (the same orders, goal and compute as the section
above it) and written to docs/benchmarks.md and benchmarks/results/stopping_rules.json.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import learning_curves  # noqa: E402
from _docs import replace_section, save_results  # noqa: E402

from hpsearch.search import MOSuccessiveHalving  # noqa: E402
from hpsearch.search._schedulers import non_dominated_fronts, rank  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "stopping_rules.json"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Early stopping: other rules on the same curves"
class Spec(NamedTuple):
    """A rule replayed here: mo_asha's, changed as its fields say (the defaults: mo_asha's own)."""

    name: str
    keep: str = "ceil"  # how many go on at a rung of n: 'ceil' (ceil(n / r)) or 'floor' (n // r)
    protected: bool = False
    grace: int = 1
    reduction: int = 3
    predicted: bool = False
    static: bool = False  # 'static median'
    ranking: str = "crowding"  # within a non-dominated front: 'crowding' or 'epsnet'
    learning_only: bool = False  # the count going on: of the rung's learning trials alone
    patience: int = 0  # the trainer's collapse watch (0: off, as recorded)
    scheduler: bool = True  # False: no rule (fifo), the collapse watch alone


#: the product as it runs (``as_shipped`` reads them): the collapse watch alone, and mo_asha with it
WATCH_ALONE = Spec("collapse watch alone (fifo)", patience=1, scheduler=False)
SHIPPED = Spec("mo_asha + collapse watch (as shipped)", patience=1)
#: the first is mo_asha's default as the replay above runs it
RULES = [Spec("mo_asha (default)"), Spec("floor", keep="floor"), Spec("protected", protected=True),
         Spec("floor, protected", keep="floor", protected=True), Spec("reduction 4", reduction=4),
         Spec("protected, reduction 4", protected=True, reduction=4),
         Spec("floor, protected, reduction 4", keep="floor", protected=True, reduction=4),
         Spec("predicted", predicted=True), Spec("static median", static=True),
         Spec("epsilon-net", ranking="epsnet"),
         Spec("collapse watch, halved among the learning", learning_only=True, patience=1),
         WATCH_ALONE, SHIPPED]
#: ``predicted``: how many trials must have run to their end, and the residual SDs of optimism
PREDICT_AFTER, PREDICT_SLACK = 5, 1.0
#: values closer than this are equal (``predicted``'s comparison of fitted ends)
TIE = 1e-9
SETTINGS = [(["macro_f1", "latency_p50_ms"], "median"), (["macro_f1", "latency_p50_ms"], "max"),
            (["macro_f1", "f1_gap"], "median"), (["macro_f1", "f1_gap"], "max")]


def epsilon_net(points: list[list[float]], feasible: list[bool]) -> list[int]:
    """Indices of `points` (to minimise), best first, as Syne Tune's MOASHA ranks a rung by default: the
    feasible first, then by non-dominated front, and within a front an epsilon-net (Salinas et al. 2021):
    the best on the first objective, then each time the point farthest from those already placed (the
    front's objectives scaled to [0, 1]), in place of NSGA-II's crowding distance."""
    order: list[int] = []
    for group in ([i for i, ok in enumerate(feasible) if ok], [i for i, ok in enumerate(feasible) if not ok]):
        for front in non_dominated_fronts([points[i] for i in group]):
            members = np.array([points[group[i]] for i in front], dtype=float)
            low, high = members.min(axis=0), members.max(axis=0)
            scaled = (members - low) / np.where(high > low, high - low, 1.0)
            placed, left = [int(np.argmin(scaled[:, 0]))], list(range(len(front)))
            left.remove(placed[0])
            while left:
                far = max(left, key=lambda i: min(float(np.linalg.norm(scaled[i] - scaled[j])) for j in placed))
                placed.append(far)
                left.remove(far)
            order += [group[front[i]] for i in placed]
    return order


def rule_class(keep: str, protected: bool, predicted: bool = False, static: tuple[str, ...] = (),
               ranking: str = "crowding", learning_only: bool = False) -> type:
    """MOSuccessiveHalving, its count of trials going on at a rung `keep` ('ceil' or 'floor'),
    non-dominated trials past the first rung going on where `protected`, trials whose optimistic
    end the finished trials dominate stopped too where `predicted`, trials worse than the first
    rung's median on an objective of `static` (training does not change it) stopped there too,
    a front's trials placed by `ranking` ('crowding', mo_asha's, or 'epsnet': ``epsilon_net``), and
    the count going on taken of the rung's learning trials alone where `learning_only`."""

    class Variant(MOSuccessiveHalving):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.reports: dict[str, dict[int, list[float]]] = {}  # trial -> epoch -> vector (minimised)
            self.ended: dict[str, list[float]] = {}  # trials that ran to their end -> their last vector

        def decide(self, trial_id: str, result: Mapping[str, Any]) -> str | None:
            epoch = result.get(self.time_attr)
            if predicted and epoch is not None and all(isinstance(result.get(m), (int, float)) for m in self.metrics):
                vector = [s * float(result[m]) for s, m in zip(self.sign, self.metrics)]
                self.reports.setdefault(trial_id, {})[int(epoch)] = vector
                if epoch >= result.get("epochs", math.inf):
                    self.ended[trial_id] = vector
            stop = super().decide(trial_id, result)
            if epoch is None or not self.decides_at(epoch) or epoch >= result.get("epochs", math.inf):
                return stop
            rung = self.rungs.get(int(epoch), [])
            if not rung or rung[-1][0] != trial_id:
                return stop
            if keep == "floor" or ranking == "epsnet" or learning_only:  # placed again (no constraints here)
                order = (epsilon_net if ranking == "epsnet" else rank)([v for _, v, _ in rung],
                                                                       [ok for _, _, ok in rung])
                r = self.reduction_factor
                counted = sum(ok for _, _, ok in rung) if learning_only else len(rung)
                n = counted // r if keep == "floor" else math.ceil(counted / r)
                stop = None if order.index(len(rung) - 1) < max(1, n) else f"placed outside the best {max(1, n)}"
            if stop is not None and protected and epoch > self.grace_period and rung[-1][2]:
                learning = [v for _, v, ok in rung if ok]
                if len(learning) - 1 in non_dominated_fronts(learning)[0]:
                    return None
            if stop is None and predicted and self._dominated_at_best(trial_id, int(epoch)):
                stop = "the finished trials dominate its optimistic end"
            if stop is None and int(epoch) == self.grace_period and self._past_static_median(rung):
                stop = "worse than the median trial on an objective training does not change"
                later = int(epoch) * self.reduction_factor
                while later < result.get("epochs", math.inf):  # counted, last, where it would have been ranked
                    self.rungs.setdefault(later, []).append((f"{trial_id} (stopped)", [math.inf] * len(self.metrics),
                                                             False))
                    later *= self.reduction_factor
            return stop

        def _past_static_median(self, rung: list[tuple[str, list[float], bool]]) -> bool:
            return any(rung[-1][1][k] > statistics.median(v[k] for _, v, _ in rung)
                       for k, m in enumerate(self.metrics) if m in static)

        def _dominated_at_best(self, trial_id: str, epoch: int) -> bool:
            pairs = [(self.reports[t][epoch], end) for t, end in self.ended.items() if epoch in self.reports[t]]
            if len(pairs) < PREDICT_AFTER:
                return False
            now, best = self.reports[trial_id][epoch], []
            for k, value in enumerate(now):
                x, y = np.array([a[k] for a, _ in pairs]), np.array([b[k] for _, b in pairs])
                if np.ptp(x) < 1e-12:  # nothing to fit a line on: the best end seen
                    best.append(float(y.min()))
                    continue
                slope, intercept = np.polyfit(x, y, 1)
                spread = math.sqrt(float(np.sum((y - intercept - slope * x) ** 2)) / max(len(x) - 2, 1))
                best.append(intercept + slope * value - PREDICT_SLACK * spread)
            # within rounding counts as a tie: a line fitted to equal ends gives them back to ~1e-16,
            # either side depending on numpy's build
            return any(all(e <= b + TIE for e, b in zip(end, best)) and any(e < b - TIE for e, b in zip(end, best))
                       for end in self.ended.values())

    return Variant


def static_objectives(table: dict[str, Any]) -> tuple[str, ...]:
    """The objectives whose value never changes over any configuration's epochs (training does not change
    them: latency, measured once on the deployed model)."""
    return tuple(n for n in table["names"] if all(len({e[n] for e in c["epochs"]}) == 1 for c in table["configs"]))


def _measure(work: tuple[dict[str, Any], int, Spec, tuple]) -> dict[str, Any]:
    table, orders, spec, (objectives, box) = work
    static = static_objectives(table) if spec.static else ()
    result = learning_curves.measure(
        table, orders, spec.grace, spec.reduction, box=box, objectives=objectives, patience=spec.patience,
        scheduler=spec.scheduler,
        rule_class=rule_class(spec.keep, spec.protected, spec.predicted, static, spec.ranking, spec.learning_only))
    return {"rule": spec.name, "keep": spec.keep, "protected": spec.protected, "predicted": spec.predicted,
            "static": list(static), "ranking": spec.ranking, **{k: v for k, v in result.items() if k != "traces"}}


def measure_all(table: dict[str, Any], orders: int, jobs: int = 1) -> list[dict[str, Any]]:
    work = [(table, orders, rule, setting) for setting in SETTINGS for rule in RULES]
    if jobs <= 1:
        return [_measure(w) for w in work]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(_measure, work))


def front_stopped(table: dict[str, Any], orders: int, objectives: list[str], box: str, goal: float = 0.95) -> str:
    """Where the default's compute goes on one setting: the orders in which it stops none of the
    configurations on the full-budget front (those without which its hypervolume is smaller) against
    those in which it stops one or more, with the compute each group needs."""
    curves = learning_curves.Curves(table, box, objectives)
    learned = [i for i, ok in enumerate(curves.learned) if ok]
    finals = {i: curves.curves[i][-1] for i in learned}
    front = [i for i in learned if curves.hv([v for j, v in finals.items() if j != i]) < curves.full_hv * (1 - 1e-9)]
    stopping = {"grace_period": RULES[0].grace, "reduction_factor": RULES[0].reduction}
    groups: dict[bool, list[float]] = {False: [], True: []}
    missed: dict[int, int] = {}
    stopped: set[int] = set()  # in the order being replayed

    class Watched(MOSuccessiveHalving):
        def decide(self, trial_id: str, result: Mapping[str, Any]) -> str | None:
            said = super().decide(trial_id, result)
            if said is not None:
                stopped.add(int(trial_id))
            return said

    for seed in range(orders):
        order = learning_curves.search_order(len(curves.curves), seed)
        stopped.clear()
        on = learning_curves.replay(curves, order, stopping, Watched)
        off = learning_curves.replay(curves, order, None)
        hit = sorted(stopped & set(front))
        for i in hit:
            missed[i] = missed.get(i, 0) + 1
        reach = learning_curves.compute_to_reach
        groups[bool(hit)].append(reach(*on, goal) / reach(*off, goal))

    def mean(ratios: list[float]) -> str:
        reached = [r for r in ratios if math.isfinite(r)]
        return f"{statistics.fmean(reached):.3f}" if reached else "—"

    often = ", ".join(f"{i} in {n}" for i, n in sorted(missed.items(), key=lambda kv: -kv[1]))
    return (f"Where the default's compute goes on {' + '.join(objectives)}, box {box}: the full-budget front holds "
            f"{len(front)} configurations (indexes {', '.join(map(str, front))} of the table). In "
            f"{len(groups[False])} of the {orders} orders mo_asha stops none of them and needs {mean(groups[False])} "
            f"of the compute; in {len(groups[True])} it stops one or more ({often or 'none'} orders) and needs "
            f"{mean(groups[True])} in the {sum(math.isfinite(r) for r in groups[True])} of those that still reach "
            f"{goal:.0%}: a rule that stops "
            "more must not stop these, and one that keeps them must stop the others sooner.")


def _compare(results: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Per rule other than the default, the settings where it is 'better' (less compute, 95% reached in
    at least as many orders), where 'fewer' orders reach 95%, and where it needs 'more' compute."""
    default = RULES[0].name
    by = {(r["rule"], tuple(r["objectives"]), r["box"]): r for r in results}
    out = {}
    for name, *_ in RULES[1:]:
        found: dict[str, list[str]] = {"better": [], "fewer": [], "more": []}
        for objectives, box in SETTINGS:
            d, v = by[(default, tuple(objectives), box)], by[(name, tuple(objectives), box)]
            label = f"{' + '.join(objectives)}, box {box}"
            if v["reached_with_stopping"] < d["reached_with_stopping"]:
                found["fewer"].append(label)
            elif v["ratio"] < d["ratio"]:
                found["better"].append(label)
            elif v["ratio"] > d["ratio"]:
                found["more"].append(label)
        out[name] = found
    return out


def better_everywhere(results: list[dict[str, Any]]) -> list[str]:
    """The rules better than the default on some setting and worse on none."""
    return [name for name, f in _compare(results).items() if f["better"] and not f["fewer"] and not f["more"]]


def verdict(results: list[dict[str, Any]]) -> list[str]:
    """A line per rule other than the default: where it is better than the default, and where worse."""
    lines = []
    for name, f in _compare(results).items():
        line = f"- {name}: better (less compute, no order lost) on {len(f['better'])} of {len(SETTINGS)} settings"
        line += f" ({'; '.join(f['better'])})" if f["better"] else ""
        line += f"; fewer orders reach 95% on {'; '.join(f['fewer'])}" if f["fewer"] else ""
        line += f"; more compute on {'; '.join(f['more'])}" if f["more"] else ""
        lines.append(line)
    return lines


def as_shipped(results: list[dict[str, Any]]) -> str:
    """What the search as it ships (mo_asha and the collapse watch) needs on §2's row (the first setting),
    against mo_asha alone and the watch alone, and whether it meets the target."""
    objectives, box = SETTINGS[0]
    row = {r["rule"]: r for r in results if r["objectives"] == objectives and r["box"] == box}
    shipped, alone, watch = row[SHIPPED.name], row[RULES[0].name], row[WATCH_ALONE.name]
    met = shipped["reached_with_stopping"] and shipped["ratio"] <= 1 / 3
    return (f"As it ships, on {' + '.join(objectives)}, box {box} (§2's row): mo_asha with the collapse watch "
            f"needs {learning_curves.share(shipped)} of the compute ({shipped['reached_with_stopping']}/"
            f"{shipped['orders']} orders reach 95%), mo_asha alone {learning_curves.share(alone)} "
            f"({alone['reached_with_stopping']}/{alone['orders']}), the watch alone (fifo) "
            f"{learning_curves.share(watch)} ({watch['reached_with_stopping']}/{watch['orders']}): "
            + ("the target (at most 1/3) is met." if met else "the target (at most 1/3) is not met."))


def write_docs(results: list[dict[str, Any]], command: str, orders: int, table: dict[str, Any] | None = None) -> None:
    lines = [SECTION, "",
             f"Reproduce: `{command}` (replays only; minutes). The rules a session tried instead of mo_asha's "
             "default, on the table of curves above (benchmarks/results/learning_curves.json), with that section's "
             f"orders, goal (95% of the full-budget hypervolume) and compute; {orders} orders each, the same for "
             "every rule. 'floor': at a rung of n trials the best max(1, n // r) go on (the ASHA paper's count) "
             "instead of max(1, ceil(n / r)) (Ray Tune's and Syne Tune's stopping rule); 'protected': past the first "
             "rung, a trial that no other learning trial at its rung dominates goes on whatever its place; "
             f"'predicted': mo_asha's rule, and also stopped at a rung where the trials that ran to their end "
             f"(at least {PREDICT_AFTER}) dominate its optimistic end (per objective, the line from their values at "
             f"that rung to their last ones, at its own value, less {PREDICT_SLACK:g} residual standard deviation); "
             "'static median': mo_asha's rule, and also stopped at the first rung where it is worse than the median "
             "of the trials there on an objective training does not change (one value at every epoch of every "
             "configuration in the table: latency, measured once on the deployed model; the median box values such "
             "a trial at nothing), and counted last at the later rungs (so they keep a third of every trial that "
             "started, not of the faster half); on macro_f1 + f1_gap it is the default; 'epsilon-net': a front's "
             "trials placed as Syne Tune's MOASHA places them by default (the most accurate first, then each time "
             "the one farthest from those placed, the front's objectives scaled to [0, 1]) instead of by crowding "
             "distance; 'collapse watch, halved among the learning': the count going on at a rung is a third of "
             "its trials whose predictions had not collapsed (ceil(n_learning / r)), with the watch, which stops the "
             "others. The last two rows are the product as it runs: the trainer's collapse watch (the objectives "
             "file's `collapse: patience: 1`, the default; the recording turned it off to keep whole curves) stops a "
             "trial whose predictions collapsed after that epoch, with early stopping or without; 'ratio on/off' "
             "is still against every trial run to its end.", "",
             "| rule | objectives (HV and ranking) | box | grace, reduction | orders reaching 95% | ratio on/off |",
             "|---|---|---|---|---|---|"]
    for r in results:
        g, red = r["stopping"]["grace_period"], r["stopping"]["reduction_factor"]
        lines.append(f"| {r['rule']} | {', '.join(r['objectives'])} | {r['box']} | "
                     f"{f'{g}, {red}' if r.get('scheduler', True) else '—'} | "
                     f"{r['reached_with_stopping']}/{r['orders']} | {learning_curves.share(r)} |")
    lines += ["", f"Against the default on the {len(SETTINGS)} settings:", "", *verdict(results), ""]
    everywhere = better_everywhere(results)
    lines.append(f"Better than the default somewhere and worse nowhere: {', '.join(everywhere)}." if everywhere else
                 "No rule here is better than the default somewhere and worse nowhere: the compute a rule saves on "
                 "one setting costs orders (the slow starters its front needs, stopped) or compute on another. "
                 "mo_asha keeps its default until one is.")
    lines += ["", as_shipped(results)]
    if table is not None:
        lines += ["", front_stopped(table, orders, *SETTINGS[0])]
    replace_section(DOCS, "\n".join(lines), before="## Early stopping on several objectives: a live run")


def main(argv: list[str] | None = None) -> int:
    args = learning_curves.replay_parser(__doc__).parse_args(argv)
    table = json.loads(args.table.read_text(encoding="utf-8"))
    results = measure_all(table, args.orders, args.jobs)
    for r in results:
        print(f"{r['rule']:32s} {'+'.join(r['objectives']):24s} {r['box']:6s} "
              f"{r['reached_with_stopping']:4d}/{r['orders']} {learning_curves.share(r)}", flush=True)
    if not args.no_docs:
        save_results(OUT, results)
        write_docs(results, f".venv/bin/python benchmarks/stopping_rules.py --orders {args.orders} --jobs {args.jobs}",
                     args.orders, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
