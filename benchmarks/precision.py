"""bf16 against fp32 training, the same trial through the trial runner, on engineering_issues.

The same LoRA trial (the packaged MiniLM, mean pooling, the same seed, examples, epochs and learning
rate) with ``precision: fp32`` and ``precision: bf16``, alternating, `--repeats` times each, in one
process (no Ray): training seconds and validation/test macro-F1 of each. bf16 only pays where the
hardware multiplies bfloat16 natively (AMX-BF16 / AVX512-BF16 CPUs, bf16 GPUs); elsewhere the bf16
trial fails with the reason and the script says so. The table goes into docs/benchmarks.md.

    .venv/bin/python benchmarks/precision.py [--train 600 --epochs 2 --repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import replace_section  # noqa: E402

from real_data import DOCS, engineering_trial_space

SECTION = "## bf16 training: the same trial in fp32 and bf16"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=600, help="training examples (stratified subsample)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="trials of each precision, alternating")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    args = parser.parse_args(argv)

    from hpsearch.plan import load_plan
    from hpsearch.trial import TrialFailed, Worker
    from hpsearch.trial._hardware import bf16_problem, describe

    work = Path(tempfile.mkdtemp(prefix="hpsearch-precision-"))
    space = engineering_trial_space(work, "precision", args.train)
    worker = Worker(load_plan(space))
    problem = bf16_problem(worker.device.type == "cuda")
    runs: dict[str, list[dict[str, float]]] = {"fp32": [], "bf16": []}
    for repeat in range(args.repeats):
        for precision in ("fp32", "bf16"):
            values = {"method": "lora", "pooling": "mean", "learning_rate": args.learning_rate, "epochs": args.epochs,
                      "batch_size": 16, "warmup_ratio": 0.1, "max_length": 128, "target_modules": "attention",
                      "seed": 0, "precision": precision}
            try:
                m = worker.run(values).metrics
            except TrialFailed as exc:
                print(f"{precision}: {exc}", flush=True)
                continue
            runs[precision].append({"train_seconds": m["train_seconds"], "macro_f1": m["macro_f1"],
                                    "test_macro_f1": m["test/macro_f1"]})
            print(f"repeat {repeat + 1} {precision}: train {m['train_seconds']:.1f} s, validation macro-F1 "
                  f"{m['macro_f1']:.3f}, test {m['test/macro_f1']:.3f}", flush=True)
    write_docs(runs, args, worker.splits.describe(), describe(), problem)
    return 0


def write_docs(runs: dict[str, list[dict[str, float]]], args: argparse.Namespace, described: str, hardware: str,
               problem: str | None) -> None:
    lines = [
        SECTION, "",
        f"Reproduce: `.venv/bin/python benchmarks/precision.py --train {args.train} --epochs {args.epochs} "
        f"--repeats {args.repeats} --learning-rate {args.learning_rate:g}` ({hardware}; {time.strftime('%Y-%m-%d')}).",
        f"The same LoRA trial (MiniLM, mean pooling, attention targets, rank 8, batch 16, max length 128, learning "
        f"rate {args.learning_rate:g}, {args.epochs} epochs, seed 0) with `precision: fp32` and `precision: bf16`, "
        f"alternating, {args.repeats} of each in one process; {described}; test = a stratified 20% of train.jsonl "
        "held out (seed 0), 300 of it scored. The machine may be shared: read the ratio, not the seconds.", "",
        "| precision | trials | training s (median) | training time vs fp32 | validation macro-F1 | test macro-F1 |",
        "|---|---|---|---|---|---|",
    ]
    base = statistics.median(r["train_seconds"] for r in runs["fp32"]) if runs["fp32"] else None
    for precision, rows in runs.items():
        if not rows:
            lines.append(f"| {precision} | 0 | — | — | — | — |")
            continue
        seconds = statistics.median(r["train_seconds"] for r in rows)
        ratio = f"{seconds / base:.2f}×" if base else "—"
        validation = ", ".join(f"{r['macro_f1']:.3f}" for r in rows)
        test = ", ".join(f"{r['test_macro_f1']:.3f}" for r in rows)
        lines.append(f"| {precision} | {len(rows)} | {seconds:.1f} | {ratio} | {validation} | {test} |")
    if problem:
        lines += ["", f"bf16 did not run here: {problem}."]
    replace_section(DOCS, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
