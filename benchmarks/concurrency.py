"""Trials on one node: one trial at a time with every CPU, against two at a time with half each.

The same work as benchmarks/peer_trainer.py (a stratified sample of engineering_issues, the packaged
MiniLM with LoRA rank 8 on the attention modules, the learning rate searched), run twice by
``hpsearch run`` in one run: ``max_concurrent_trials: 1`` (1 trial × all CPUs) and
``max_concurrent_trials: 2`` (2 trials × half the CPUs each, the default preset's; a trial left alone
takes the CPUs it sees idle). Throughput is complete trials per
hour of the study's wall time; quality is the best validation macro-F1 at equal trials (and whether
each trial learned). Latency is timed with the node to itself either way (the other trial pauses).

    .venv/bin/python benchmarks/concurrency.py --trials 4

Results go to benchmarks/results/concurrency.json and docs/benchmarks.md (``--docs-only``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import replace_section  # noqa: E402

from peer_trainer import ROOT, prepare  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "concurrency.json"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Trials on one node: 1 × all CPUs or 2 × half"


def preset_for(concurrent: int) -> str:
    """search/default.yaml with `concurrent` trials at once (each then gets the node's CPUs / `concurrent`)."""
    preset = (ROOT / "search" / "default.yaml").read_text(encoding="utf-8")
    preset, found = re.subn(r"(?m)^max_concurrent_trials: \d+$", f"max_concurrent_trials: {concurrent}", preset)
    if found != 1:  # the preset's line moved: each run would get the preset's concurrency, not `concurrent`
        raise SystemExit("search/default.yaml: no 'max_concurrent_trials: N' line to set")
    return preset


def one(data: tuple[Path, Path], work: Path, concurrent: int, trials: int, epochs: int) -> dict[str, Any]:
    import subprocess

    import optuna

    work.mkdir(parents=True)
    (work / "search.yaml").write_text(preset_for(concurrent), encoding="utf-8")
    space = work / "space.yaml"
    space.write_text(f"""name: concurrency
model: minilm
dataset: {{train: {data[0]}, validation: {data[1]}, group_columns: group}}
search: {work / 'search.yaml'}
objectives: {ROOT / 'objectives' / 'default.yaml'}
baseline: none
baselines: []
params:
  learning_rate: {{type: float, low: 1.0e-3, high: 1.0e-2, log: true}}
fixed: {{method: lora, target_modules: attention, lora_r: 8, lora_alpha: 16, batch_size: 32, epochs: {epochs},
        max_length: 128, seed: 0}}
""", encoding="utf-8")
    url = f"sqlite:///{work / 'study.db'}"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hpsearch", "run", str(space), "--storage", url, "--trials", str(trials)],
                   cwd=work, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    done = [t for t in optuna.load_study(study_name="concurrency", storage=url).get_trials()
            if t.state.name == "COMPLETE"]
    # a trial's share of the node (its threads may grow while it runs alone: user attr `threads`)
    share = (done[0].user_attrs.get("threads") or {}).get("share", done[0].user_attrs["device"]["threads"]) if done else None
    return {"concurrent": concurrent, "threads_per_trial": share,
            "trials": len(done), "wall_s": round(wall, 1), "trials_per_hour": round(3600 * len(done) / wall, 1),
            "best_macro_f1": round(max(t.user_attrs["macro_f1"] for t in done), 4) if done else None,
            "learned": sum(bool(t.user_attrs.get("learned")) for t in done),
            "train_s": [round(t.user_attrs["train_seconds"], 1) for t in done]}


def conclusion(rows: list[dict[str, Any]]) -> str:
    """Trials per hour of each way over every run kept, and each run's ratio (2 × half over 1 × all)."""
    rate = {c: sum(r["trials"] for r in rows if r["concurrent"] == c) * 3600
            / sum(r["wall_s"] for r in rows if r["concurrent"] == c) for c in (1, 2)}
    runs: dict[tuple[str, str], dict[int, float]] = {}
    for r in rows:
        runs.setdefault((r.get("date", ""), r.get("order", "1 then 2")), {})[r["concurrent"]] = r["trials_per_hour"]
    ratios = [f"{pair[2] / pair[1]:.2f}× ({date or 'undated'}, {order})" for (date, order), pair in runs.items()
              if 1 in pair and 2 in pair]
    ratio = rate[2] / rate[1]
    verdict = ("2 × half gives more trials per hour" if ratio > 1.1 else "1 × all gives more trials per hour"
               if ratio < 1 / 1.1 else "neither gives 10% more trials per hour than the other")
    return (f"Over every run kept: {rate[1]:.0f} trials/hour for 1 × all, {rate[2]:.0f} for 2 × half ({ratio:.2f}×): "
            f"{verdict} on this machine. Each run, 2 × half against 1 × all: {'; '.join(ratios)}.")


def write_docs(results: dict[str, Any]) -> None:
    rows = results["rows"]
    lines = [SECTION, "", "The same trials (engineering_issues sample, MiniLM + LoRA rank 8 on attention, the learning "
             "rate searched) run by `hpsearch run` with one trial at a time on every CPU and with two at a time on "
             "half each, one after the other in one run, on a machine that may be shared with other jobs. Trials per "
             "hour of the study's wall time, and the best validation macro-F1 at equal trials. Every run is kept.", "",
             f"Command: `{results['command']}` on {results['machine']}.", "",
             "| date | run order | trials at once × threads each | trials | wall s | trials / hour | best macro-F1 | "
             "learned | train s per trial |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.get('date', '—')} | {r.get('order', '1 then 2')} | {r['concurrent']} × {r['threads_per_trial']} "
                     f"| {r['trials']} | {r['wall_s']} | {r['trials_per_hour']} | {r['best_macro_f1']} | {r['learned']} | "
                     f"{', '.join(map(str, r['train_s']))} |")
    lines += ["", conclusion(rows)]
    if results.get("note"):
        lines += ["", results["note"]]
    replace_section(DOCS, "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--eval", type=int, default=150)
    parser.add_argument("--order", type=int, nargs="+", default=[1, 2], help="trials at once, in the order run")
    parser.add_argument("--docs-only", action="store_true")
    args = parser.parse_args(argv)
    if args.docs_only:
        write_docs(json.loads(RESULTS.read_text(encoding="utf-8")))
        return 0
    work = Path(tempfile.mkdtemp(prefix="hpsearch-concurrency-"))
    data = prepare("engineering_issues", args.train, args.eval, work / "data")
    kept = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {"rows": []}
    rows = []
    for i, concurrent in enumerate(args.order):
        rows.append(one(data, work / f"x{concurrent}-{i}", concurrent, args.trials, args.epochs))
        rows[-1]["order"] = " then ".join(map(str, args.order))
        print(json.dumps(rows[-1]), flush=True)
    from hpsearch.trial import describe

    for r in rows:
        r["date"] = time.strftime("%Y-%m-%d")
    results = {"rows": kept["rows"] + rows, "machine": describe(), "note": kept.get("note"),
               "command": f".venv/bin/python benchmarks/concurrency.py --trials {args.trials} --epochs {args.epochs} "
                          "--order 1 2 (or --order 2 1)"}
    RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    write_docs(results)
    print(conclusion(results["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
