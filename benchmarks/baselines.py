"""The study's baselines on a trial's share of the node's CPUs, or on all of them, as the driver runs them.

A study fits its baselines (TF-IDF + logistic regression, the frozen-model linear probe) once, before
its trials. Since commit 3af0e03 the driver gives them the node's CPUs (divided among what else runs
there), not a trial's share; latency is still timed on the share. This runs both settings on the same
data through the code the driver uses (`hpsearch.trial.Worker`, its thread plan's ``taken``, and
``run_baseline``), alternating, `--repeats` times each, in one process: seconds per baseline and their
macro-F1, which must not change.

    .venv/bin/python benchmarks/baselines.py [--dataset medical_abstracts --train 600 --repeats 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import replace_section  # noqa: E402

from real_data import DOCS, SHARED  # noqa: E402

SECTION = "## Baselines: on a trial's share of the CPUs or on the node's"
KINDS = ("tfidf", "linear_probe")


def init_space(dataset: str, train: int, work: Path) -> Path:
    """The space `hpsearch init` writes for the shared dataset, with `train` training examples at most."""
    space = work / f"{dataset}.yaml"
    subprocess.run([str(Path(sys.executable).parent / "hpsearch"), "init", str(SHARED / dataset), "--out", str(space),
                    "--force", "--max-train-examples", str(train)], check=True, cwd=work, stdout=subprocess.DEVNULL)
    return space


def fit(plan: Any, node_threads: int | None) -> dict[str, Any]:
    """Both baselines as the driver fits them: a trial's share is 1 CPU (the default preset on 2 CPUs)."""
    from hpsearch.trial import Worker, run_baseline

    worker = Worker(plan, threads=1, node_threads=node_threads)
    out: dict[str, Any] = {}
    with worker.thread_plan.taken() if worker.thread_plan is not None else contextlib.nullcontext(1) as threads:
        out["threads"] = threads
        for kind in KINDS:
            started = time.perf_counter()
            result = run_baseline(worker, kind)
            out[kind] = {"seconds": time.perf_counter() - started, "macro_f1": result.metrics["macro_f1"],
                         "latency_p50_ms": result.metrics["latency_p50_ms"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="medical_abstracts")
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    from hpsearch.plan import load_plan
    from hpsearch.trial._hardware import describe

    plan = load_plan(init_space(args.dataset, args.train, Path(tempfile.mkdtemp(prefix="hpsearch-baselines-"))))
    node = os.cpu_count() or 1
    runs: dict[str, list[dict[str, Any]]] = {"share": [], "node": []}
    for repeat in range(args.repeats):
        for setting in runs:
            run = fit(plan, node if setting == "node" else None)
            runs[setting].append(run)
            print(f"repeat {repeat + 1}, {setting} ({run['threads']} threads): "
                  + ", ".join(f"{k} {run[k]['seconds']:.1f} s (macro-F1 {run[k]['macro_f1']:.4f})" for k in KINDS),
                  flush=True)
    write_docs(runs, args, plan.splits().describe(), describe())
    return 0


def write_docs(runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace, described: str, hardware: str) -> None:
    def total(run: dict[str, Any]) -> float:
        return sum(run[k]["seconds"] for k in KINDS)

    base = statistics.median(total(r) for r in runs["share"])
    lines = [
        SECTION, "",
        f"Reproduce: `.venv/bin/python benchmarks/baselines.py --dataset {args.dataset} --train {args.train} "
        f"--repeats {args.repeats}` ({hardware}; {time.strftime('%Y-%m-%d')}).",
        f"The space `hpsearch init` writes for {args.dataset} (`--max-train-examples {args.train}`: {described}); "
        "TF-IDF + logistic regression and the frozen-model linear probe fitted as the driver fits them, on a trial's "
        "share (1 CPU: the default preset runs two trials at a time) or on the node's CPUs; alternating, "
        f"{args.repeats} of each in one process. The machine may be shared: read the ratio, not the seconds.", "",
        "| setting | threads | TF-IDF s | linear probe s | both s (median) | time vs share | macro-F1 (TF-IDF, probe) |",
        "|---|---|---|---|---|---|---|",
    ]
    for setting, rows in runs.items():
        both = statistics.median(total(r) for r in rows)
        f1 = "; ".join(f"{r['tfidf']['macro_f1']:.4f}, {r['linear_probe']['macro_f1']:.4f}" for r in rows)
        lines.append(f"| {setting} | {rows[0]['threads']} | "
                     f"{statistics.median(r['tfidf']['seconds'] for r in rows):.1f} | "
                     f"{statistics.median(r['linear_probe']['seconds'] for r in rows):.1f} | {both:.1f} | "
                     f"{both / base:.2f}× | {f1} |")
    ratio = {k: statistics.median(r[k]["seconds"] for r in runs["node"])
             / statistics.median(r[k]["seconds"] for r in runs["share"]) for k in KINDS}
    same = all(r[k]["macro_f1"] == runs["share"][0][k]["macro_f1"] for rows in runs.values() for r in rows for k in KINDS)
    lines += ["", f"On the node's CPUs both baselines took {statistics.median(total(r) for r in runs['node']) / base:.2f}× "
              f"the time on a trial's share: the linear probe (the frozen model's forward passes) {ratio['linear_probe']:.2f}×, "
              f"TF-IDF {ratio['tfidf']:.2f}× (its fit is scikit-learn's, on one thread either way); macro-F1 "
              f"{'the same in every run' if same else 'differs between runs'}."]
    replace_section(DOCS, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
