"""Early stopping in a search with a latency constraint, replayed on the recorded learning curves.

A team that deploys under a latency budget writes it as a constraint (``latency_p50_ms <= 3``). The
study keeps a trial that breaks it off the front, but until the schedulers knew the constraint such a
trial trained like any other (with mo_asha, one fast to learn went on at every rung). Latency is
measured once, on the deployed model, and training does not change it, so the trainer now measures it
before the first epoch (the untrained model has the same shape) and the rule stops a trial that breaks
it there, before it trains: mo_asha's (``hpsearch.search.MOSuccessiveHalving``'s ``constraints``, given
by the driver; it counts the trial last at the first rung) and fifo's (``BudgetRule``). This replays
mo_asha blind to the constraint (as before), mo_asha told it and fifo told it, on the curves of
benchmarks/results/learning_curves.json, with that section's orders and compute; the goal is 95% of
the hypervolume of the configurations that meet the constraint, run to their end:

    .venv/bin/python benchmarks/constrained_stopping.py --orders 300 [--jobs 2]
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import learning_curves  # noqa: E402
from _docs import replace_section, save_results  # noqa: E402

from hpsearch.objectives import parse_constraint  # noqa: E402
from hpsearch.search import make_scheduler  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "constrained_stopping.json"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Early stopping with a latency constraint"
OBJECTIVES = ["macro_f1", "latency_p50_ms"]
#: the latency budgets replayed: these quantiles of the table's latencies (a quarter, half, three quarters meet it)
QUANTILES = (0.25, 0.5, 0.75)
BOXES = ("median", "max")
GRACE, REDUCTION = 1, 3  # mo_asha's default


def budgets(table: dict[str, Any]) -> list[str]:
    """The constraints replayed: ``latency_p50_ms <= q`` at each of QUANTILES of the table's latencies."""
    latencies = [c["epochs"][-1]["latency_p50_ms"] for c in table["configs"]]
    return [f"latency_p50_ms <= {np.quantile(latencies, q):.2f}" for q in QUANTILES]


def _fifo(names: list[str], directions: list[str], grace_period: int, reduction_factor: int,
          constraints: list[Any]) -> Any:
    """The rule the driver runs for the default scheduler, ``fifo``, where the study has a budget."""
    return make_scheduler("fifo", names, directions, {}, constraints)


#: name -> (rule class, the rule told the constraint): mo_asha before it was told constraints, mo_asha, fifo
RULES: dict[str, tuple[Any, bool]] = {"mo_asha, blind": (None, False), "mo_asha": (None, True), "fifo": (_fifo, True)}


def _measure(work: tuple[dict[str, Any], int, str, str, str]) -> dict[str, Any]:
    table, orders, constraint, box, rule = work
    rule_class, knows = RULES[rule]
    result = learning_curves.measure(table, orders, GRACE, REDUCTION, box=box, objectives=OBJECTIVES,
                                     constraints=[parse_constraint(constraint)], rule_knows=knows,
                                     rule_class=rule_class)
    feasible = sum(learning_curves.Curves(table, box, OBJECTIVES, [parse_constraint(constraint)]).learned)
    return {"constraint": constraint, "box": box, "rule": rule, "feasible": feasible,
            **{k: v for k, v in result.items() if k != "traces"}}


def measure_all(table: dict[str, Any], orders: int, jobs: int = 1) -> list[dict[str, Any]]:
    work = [(table, orders, c, box, rule) for c in budgets(table) for box in BOXES for rule in RULES]
    if jobs <= 1:
        return [_measure(w) for w in work]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(_measure, work))


def verdict(results: list[dict[str, Any]]) -> list[str]:
    """Per budget and box: mo_asha told the constraint against mo_asha blind to it, and against §2's
    target (at most 1/3 of the compute); then how many settings are under it without losing orders."""
    by = {(r["constraint"], r["box"], r["rule"]): r for r in results}
    lines, under = [], 0
    settings = list(dict.fromkeys((r["constraint"], r["box"]) for r in results))
    for constraint, box in settings:
        told, blind, fifo = (by[(constraint, box, rule)] for rule in ("mo_asha", "mo_asha, blind", "fifo"))
        orders = told["orders"]
        kept = told["reached_with_stopping"] >= blind["reached_with_stopping"]
        below = told["reached_with_stopping"] > 0 and told["ratio"] <= 1 / 3
        under += kept and below
        share = learning_curves.share
        lines.append(f"- {constraint}, box {box}: told {share(told)} of the compute, {told['reached_with_stopping']}/"
                     f"{orders} orders reaching 95%; blind {share(blind)}, {blind['reached_with_stopping']}/{orders}: "
                     f"{'at most' if below else 'more than'} 1/3, {'no order lost' if kept else 'orders lost'}; "
                     f"fifo {share(fifo)}")
    lines.append(f"\nTold the budget, mo_asha needs at most 1/3 of the compute and reaches 95% in at least as many "
                 f"orders as blind to it on {under} of the {len(settings)} settings.")
    return lines


def write_docs(results: list[dict[str, Any]], command: str, orders: int) -> None:
    lines = [SECTION, "",
             f"Reproduce: `{command}` (replays only; a minute or two). The table of curves of the sections above "
             "(benchmarks/results/learning_curves.json), objectives macro_f1 and latency_p50_ms, mo_asha's default "
             f"(grace {GRACE}, reduction {REDUCTION}); a search under a latency budget, the constraint "
             "`latency_p50_ms <= B` at the quartiles of the table's latencies. The goal: 95% of the hypervolume of "
             "the configurations that meet it, run to their end; compute and orders as above "
             f"({orders} orders, the same for every row; 'off' runs every trial to its end). 'mo_asha, blind': the "
             "rule without the constraint (mo_asha before it was told constraints); 'mo_asha' (told): the rule as "
             "the driver now builds it, and 'fifo': the default scheduler's, which stops nothing else; both "
             "with the study's constraints on what training does not change (latency, throughput, "
             "size: measured on the deployed model before the first epoch, reported as epoch 0), which stops a "
             "trial breaking one before it trains (no epoch spent; the table's first-epoch latency stands for "
             "that measurement; mo_asha also counts it last at the first rung).", "",
             "| constraint | configurations meeting it | box | rule | off: epochs | orders reaching 95% | "
             "ratio on/off |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['constraint']} | {r['feasible']} of {r['configs']} | {r['box']} | "
                     f"{r['rule']} | {r['off_epochs']:.0f} | "
                     f"{r['reached_with_stopping']}/{r['orders']} | {learning_curves.share(r)} |")
    lines += ["", *verdict(results), "",
              "'mo_asha, blind' is the rule as it runs in a search without constraints: its figures are the "
              "default's of the sections above wherever the configurations the goal needs meet the budget. Told the "
              "budget, a rule spends no epoch on a trial that breaks it, where mo_asha halved them like the others "
              "and fifo ran them to their end before. "
              "Such a trial is PRUNED with the reason and how far it was from the budget (`Trial.set_constraint`), "
              "and gp_pool's constraint models learn from it, so a live search also stops proposing shapes too "
              "slow for the budget; the replay visits a fixed random order and shows none of that."]
    replace_section(DOCS, "\n".join(lines), before="## Early stopping on several objectives: a live run")


def main(argv: list[str] | None = None) -> int:
    args = learning_curves.replay_parser(__doc__).parse_args(argv)
    table = json.loads(args.table.read_text(encoding="utf-8"))
    results = measure_all(table, args.orders, args.jobs)
    for r in results:
        print(f"{r['constraint']:26s} {r['box']:6s} {r['rule']:15s} "
              f"{r['reached_with_stopping']:4d}/{r['orders']} {learning_curves.share(r)}", flush=True)
    if not args.no_docs:
        save_results(OUT, results)
        write_docs(results, f".venv/bin/python benchmarks/constrained_stopping.py --orders {args.orders} "
                            f"--jobs {args.jobs}", args.orders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
