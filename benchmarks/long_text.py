"""How long texts are read, on engineering_issues: each `long_text` reading against plain truncation.

The same trial configuration (the packaged MiniLM, LoRA, mean pooling, the same seed, examples,
epochs and learning rate) is trained once per reading — ``head`` (truncation), ``head_tail``,
``chunk_mean``, ``chunk_max`` — by the trial runner itself (no Ray), in one run, and each is
measured the way a trial is: macro-F1 on a held-out test split (a fixed, stratified 20% of the
training file, seed 0: the set has no test split), the median latency of single requests as
deployed (chunked readings run every window of a text) and training time. The table goes into
docs/benchmarks.md.

    .venv/bin/python benchmarks/long_text.py [--train 400 --epochs 3 --max-length 128 --max-chunks 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import replace_section  # noqa: E402

from real_data import DOCS, engineering_trial_space  # noqa: E402

READINGS = ("head", "head_tail", "chunk_mean", "chunk_max")
SECTION = "## Long texts: how engineering_issues is read"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=400, help="training examples (stratified subsample)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--max-chunks", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--readings", nargs="+", choices=READINGS, default=list(READINGS))
    args = parser.parse_args(argv)

    from hpsearch.plan import load_plan
    from hpsearch.trial import Worker

    work = Path(tempfile.mkdtemp(prefix="hpsearch-longtext-"))
    space = engineering_trial_space(work, "long-text", args.train)
    worker = Worker(load_plan(space))
    print(worker.splits.describe(), flush=True)
    lengths = sorted(len(t) for t in worker.tokens("test", worker.splits.test))
    longer = sum(n + 2 > args.max_length for n in lengths) / len(lengths)
    rows = []
    for reading in args.readings:
        values = {"method": "lora", "pooling": "mean", "learning_rate": args.learning_rate, "epochs": args.epochs,
                  "batch_size": 16, "warmup_ratio": 0.1, "max_length": args.max_length, "long_text": reading,
                  "max_chunks": args.max_chunks, "target_modules": "attention", "seed": 0}
        started = time.monotonic()
        result = worker.run(values, report=lambda row, r=reading: print(f"  {r} epoch {row['epoch']:.0f}: "
                                                                          f"macro_f1 {row['macro_f1']:.3f}", flush=True))
        m = result.metrics
        rows.append({"reading": reading, "test_macro_f1": round(m["test/macro_f1"], 4),
                     "validation_macro_f1": round(m["macro_f1"], 4), "latency_p50_ms": round(m["latency_p50_ms"], 2),
                     "train_seconds": round(m["train_seconds"], 1), "wall_seconds": round(time.monotonic() - started, 1)})
        print(json.dumps(rows[-1]), flush=True)
    write_docs(rows, args, worker.splits.describe(), longer)
    return 0


def write_docs(rows: list[dict], args: argparse.Namespace, described: str, longer: float) -> None:
    head = next((r for r in rows if r["reading"] == "head"), None)
    lines = [
        SECTION, "",
        f"Reproduce: `.venv/bin/python benchmarks/long_text.py --train {args.train} --epochs {args.epochs} "
        f"--max-length {args.max_length} --max-chunks {args.max_chunks} --learning-rate {args.learning_rate:g} "
        f"--readings {' '.join(args.readings)}`.",
        f"One run, the same LoRA trial (MiniLM, mean pooling, learning rate {args.learning_rate:g}, {args.epochs} epochs) "
        f"once per reading; {described}; test = a stratified 20% of train.jsonl held out (seed 0), 300 of it "
        f"scored. {longer:.0%} of the test texts are longer than max_length {args.max_length}. Ratios are against "
        "`head` (plain truncation) in the same run.", "",
        "| reading | test macro-F1 | validation macro-F1 | latency p50 (ms) | latency vs head | training time vs head |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lat = f"{r['latency_p50_ms'] / head['latency_p50_ms']:.2f}×" if head else "—"
        train = f"{r['train_seconds'] / head['train_seconds']:.2f}×" if head else "—"
        lines.append(f"| {r['reading']} | {r['test_macro_f1']:.3f} | {r['validation_macro_f1']:.3f} | "
                     f"{r['latency_p50_ms']:.1f} | {lat} | {train} |")
    replace_section(DOCS, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
