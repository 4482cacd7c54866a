"""torch.compile against eager for a trial's training steps, on engineering_issues (issue #13).

The trial runner's own model (``Worker.build_model``: the packaged MiniLM, mean pooling, LoRA rank 8 on
query, key, value and attention.output.dense, the head re-initialised) trains `--steps` steps on
the same batch of real engineering_issues texts (batch 32, 128 tokens: most of its texts reach the
limit), through the runner's ``forward``, its loss and AdamW, eager and under ``torch.compile``
(default mode), in fp32 and, where the hardware multiplies bfloat16 natively, under bf16 autocast.
Each run is a fresh process with an empty Inductor cache (`TORCHINDUCTOR_CACHE_DIR`), as a trial with
a configuration not compiled before would be; the two modes alternate, `--repeats` times each.

One fixed shape is compile's best case: a trial's batches, bucketed by length, come in several shapes,
each compiled again (or compiled for dynamic shapes). Printed and written to docs/benchmarks.md: the
first step (compilation included), the median step after two, the whole run, and the steps a trial
would need before compiling paid for itself.

    .venv/bin/python benchmarks/compile.py [--steps 16 --threads 1 --repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import replace_section, save_results  # noqa: E402

from real_data import DOCS, ROOT, engineering_trial_space  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "compile.json"
SECTION = "## torch.compile: a trial's training steps compiled and eager"
BATCH, LENGTH = 32, 128
TRIAL_STEPS = 57  # engineering_issues: 600 examples, 3 epochs, batch 32 (issue #13's trial)


def child(mode: str, precision: str, steps: int, threads: int) -> dict[str, float]:
    """One run in this process: `steps` training steps of the runner's model, seconds per step."""
    import torch

    from hpsearch.plan import load_plan
    from hpsearch.space import TrialConfig
    from hpsearch.trial import Worker
    from hpsearch.trial._reading import Reading

    torch.set_num_threads(threads)
    work = Path(tempfile.mkdtemp(prefix="hpsearch-compile-"))
    worker = Worker(load_plan(engineering_trial_space(work, "compile", 600)), threads=threads)
    values = {"method": "lora", "pooling": "mean", "lora_r": 8, "target_modules": "attention", "batch_size": BATCH,
              "max_length": LENGTH, "learning_rate": 1e-3, "epochs": 1, "seed": 0, "precision": precision}
    config = TrialConfig.from_values(values)
    reading = Reading.of(config)
    pieces = worker.read("train", worker.splits.train, reading)
    longest = sorted(range(len(pieces)), key=lambda i: -max(map(len, pieces[i])))[:BATCH]  # one shape: 32 x 128
    texts = [pieces[i] for i in longest]
    labels = torch.tensor([worker.splits.train.labels[i] for i in longest])
    model = worker.build_model(config)
    model.train()
    run = torch.compile(model) if mode == "compile" else model
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate)
    loss_fn = worker.loss_function(config)
    seconds = []
    for _ in range(steps):
        began = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = worker.forward(run, texts, reading)
        loss = loss_fn(logits.float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - began)
    return {"first_s": seconds[0], "step_ms": 1000 * statistics.median(seconds[2:]), "total_s": sum(seconds),
            "loss": float(loss.item())}


def measure(precision: str, mode: str, steps: int, threads: int) -> dict[str, float]:
    """`child` in a fresh process with an Inductor cache of its own."""
    with tempfile.TemporaryDirectory(prefix="inductor-") as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, __file__, "--child", mode, precision, "--steps", str(steps),
                              "--threads", str(threads)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="a trial's share under the default preset")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.steps, args.threads)), flush=True)
        return 0
    from hpsearch.trial._hardware import bf16_problem, describe

    problem = bf16_problem(cuda=False)
    precisions = ["fp32"] + ([] if problem else ["bf16"])
    runs: dict[str, dict[str, list[dict[str, float]]]] = {p: {"eager": [], "compile": []} for p in precisions}
    for repeat in range(args.repeats):
        for precision in precisions:
            for mode in ("eager", "compile"):
                row = measure(precision, mode, args.steps, args.threads)
                runs[precision][mode].append(row)
                print(f"repeat {repeat + 1} {precision} {mode}: first step {row['first_s']:.1f} s, then "
                      f"{row['step_ms']:.0f} ms/step, {args.steps} steps {row['total_s']:.1f} s", flush=True)
    results = {"date": time.strftime("%Y-%m-%d"), "hardware": describe(), "steps": args.steps,
               "threads": args.threads, "repeats": args.repeats, "bf16_problem": problem, "runs": runs}
    save_results(RESULTS, results)
    write_docs(results)
    return 0


def write_docs(results: dict) -> None:
    steps = results["steps"]
    lines = [
        SECTION, "",
        f"Reproduce: `.venv/bin/python benchmarks/compile.py --steps {steps} --threads {results['threads']} "
        f"--repeats {results['repeats']}` ({results['hardware']}; {results['date']}).",
        "The trial runner's model (MiniLM, mean pooling, LoRA rank 8 on the attention modules) trains "
        f"{steps} steps on one batch of {BATCH} engineering_issues texts at {LENGTH} tokens, on "
        f"{results['threads']} thread(s), eager and under `torch.compile` (default mode), alternating, each run a "
        "fresh process with an empty Inductor cache (a configuration not compiled before, as a new trial's is). "
        "One fixed shape is compile's best case; a trial's length-bucketed batches come in several. Medians "
        "over the repeats; the machine may be shared: read the ratios.", "",
        "| precision | mode | first step s (compiling) | ms per step after 2 | compile / eager per step | "
        f"{steps} steps s | steps before compiling pays |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts: list[str] = []
    paid: list[bool] = []
    for precision, modes in results["runs"].items():
        median = {m: {k: statistics.median(r[k] for r in rows) for k in ("first_s", "step_ms", "total_s")}
                  for m, rows in modes.items()}
        eager, compiled = median["eager"], median["compile"]
        gain_ms = eager["step_ms"] - compiled["step_ms"]
        extra_s = compiled["first_s"] - eager["first_s"]
        pays = f"{extra_s * 1000 / gain_ms:.0f}" if gain_ms > 0 else "never (no faster per step)"
        for mode in ("eager", "compile"):
            m = median[mode]
            ratio = f"{compiled['step_ms'] / eager['step_ms']:.2f}×" if mode == "compile" else "—"
            lines.append(f"| {precision} | {mode} | {m['first_s']:.1f} | {m['step_ms']:.0f} | {ratio} | "
                         f"{m['total_s']:.1f} | {pays if mode == 'compile' else '—'} |")
        verdicts.append(f"{precision}: compiled steps at {compiled['step_ms'] / eager['step_ms']:.2f}× eager's, "
                        f"after {extra_s:.0f} s of compiling")
        paid.append(gain_ms > 0 and extra_s * 1000 / gain_ms < TRIAL_STEPS)
    verdict = ("compiling would pay within such a trial for " + ", ".join(p for p, ok in zip(results["runs"], paid) if ok)
               if any(paid) else "compiling does not pay within such a trial on this hardware, and the trial "
               "runner does not compile")
    lines += ["", "**" + "; ".join(verdicts) + f".** A trial on engineering_issues (600 examples, 3 epochs, batch "
              f"{BATCH}) takes about {TRIAL_STEPS} steps: {verdict}."]
    if results["bf16_problem"]:
        lines += ["", f"bf16 not measured here: {results['bf16_problem']}."]
    replace_section(DOCS, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
