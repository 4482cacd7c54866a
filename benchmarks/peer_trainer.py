"""Fine-tuning trials against the peer: hpsearch and ``transformers.Trainer.hyperparameter_search(
backend="optuna")`` doing the same work, in the same run (BENCHMARKS.md §4).

Same model (the packaged all-MiniLM-L6-v2), the same examples (a stratified sample of each shared
dataset, written once and read by both), the same epochs, maximum length, batch size, LoRA target
modules (hpsearch's ``attention``: query, key, value and attention.output.dense), rank and alpha,
the same search space (the learning rate, log-uniform) and the same number of trials (hpsearch
as its default preset runs them, the peer one at a time as documented). The two alternate: for each dataset, hpsearch then the peer, then the next dataset with the
peer first. Each side is one fresh process, timed from its start to its end:

- hpsearch: ``hpsearch run`` on a space of exactly that work (no baselines), SQLite study;
- the peer: a Trainer whose ``model_init`` loads the model and puts the same LoRA on it, dynamic
  padding (``DataCollatorWithPadding``), evaluation at the end of each trial, ``hyperparameter_search``
  over both objectives (``direction=["maximize", "minimize"]``), Optuna's TPE.

Wall time per trial is the side's wall time divided by its trials (start-up included); per-trial
is also given as the median of the trials' own durations. Quality at equal trials: the best
validation macro-F1, and the hypervolume of (macro-F1 max, f1_gap min) against the reference
point (0, 1), f1_gap computed by the same code (hpsearch's ``group_metrics``, groups of >= 5) for
both. hpsearch also measures latency and throughput of the deployed model in each trial; the peer
measures neither.

    .venv/bin/python benchmarks/peer_trainer.py --quick          # 300 train / 150 eval, 1 epoch, 2 trials per side
    .venv/bin/python benchmarks/peer_trainer.py --train 600 --eval 300 --epochs 3 --trials 3

Results go to benchmarks/results/peer_trainer.json and docs/benchmarks.md (``--docs-only``
rewrites the section from the kept results).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _docs import replace_section, save_results  # noqa: E402

SHARED = Path(os.environ.get("HPSEARCH_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
RESULTS = ROOT / "benchmarks" / "results" / "peer_trainer.json"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Fine-tuning trials against Trainer.hyperparameter_search"
DATASETS = ("engineering_issues", "legal_unfair_tos")
LR_LOW, LR_HIGH = 1e-3, 1e-2
TARGETS = ["query", "key", "value", "attention.output.dense"]  # hpsearch's `attention` on BERT
RANK, ALPHA = 8, 16


# ---------------------------------------------------------------------- the shared work

def prepare(name: str, train_n: int, eval_n: int, into: Path, seed: int = 0) -> tuple[Path, Path]:
    """Disjoint stratified samples of a dataset's training file: train.jsonl and validation.jsonl."""
    rows = [json.loads(line) for line in (SHARED / name / "train.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_label[str(row["label"])].append(row)
    rng = random.Random(seed)
    train, evaluation = [], []
    total = len(rows)
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n_train = max(1, round(len(group) * train_n / total))
        n_eval = max(1, round(len(group) * eval_n / total))
        train += group[:n_train]
        evaluation += group[n_train:n_train + n_eval]
    rng.shuffle(train)
    rng.shuffle(evaluation)
    into.mkdir(parents=True, exist_ok=True)
    paths = into / "train.jsonl", into / "validation.jsonl"
    for path, part in zip(paths, (train, evaluation)):
        path.write_text("".join(json.dumps({k: r[k] for k in ("text", "label", "group")}) + "\n" for r in part),
                        encoding="utf-8")
    return paths


def hypervolume(points: list[tuple[float, float]]) -> float:
    """Area dominated by (macro-F1 max, f1_gap min) points, reference (0, 1)."""
    pts = sorted(((1 - f1, gap) for f1, gap in points if f1 is not None and gap is not None and gap <= 1),
                 key=lambda p: (p[0], p[1]))
    area, best_gap = 0.0, 1.0
    for x, gap in pts:
        if gap < best_gap:
            area += (1 - x) * (best_gap - gap)
            best_gap = gap
    return area


# ---------------------------------------------------------------------- hpsearch

def hpsearch_side(data: tuple[Path, Path], work: Path, trials: int, epochs: int, max_length: int,
                  batch_size: int) -> dict[str, Any]:
    import optuna

    space = work / "space.yaml"
    space.write_text(f"""name: peer-bench
model: minilm
dataset:
  train: {data[0]}
  validation: {data[1]}
  text_column: text
  label_column: label
  group_columns: group
search: {ROOT / 'search' / 'default.yaml'}
objectives: {ROOT / 'objectives' / 'default.yaml'}
baseline: none
baselines: []
params:
  learning_rate: {{type: float, low: {LR_LOW}, high: {LR_HIGH}, log: true}}
fixed:
  method: lora
  target_modules: attention
  lora_r: {RANK}
  lora_alpha: {ALPHA}
  lora_dropout: 0.0
  batch_size: {batch_size}
  epochs: {epochs}
  max_length: {max_length}
  seed: 0
""", encoding="utf-8")
    url = f"sqlite:///{work / 'hpsearch.db'}"
    command = [sys.executable, "-m", "hpsearch", "run", str(space), "--storage", url, "--trials", str(trials)]
    started = time.perf_counter()
    subprocess.run(command, cwd=work, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    study = optuna.load_study(study_name="peer-bench", storage=url)
    done = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    return {
        "wall_s": wall, "trials": len(done),
        "trial_s": [(t.datetime_complete - t.datetime_start).total_seconds() for t in done],
        "train_s": [t.user_attrs.get("train_seconds") for t in done],
        "evaluate_s": [t.user_attrs.get("evaluate_seconds") for t in done],
        # a trial that reused its worker's measurement (same deployed shape) timed nothing itself
        "latency_timing_s": [0.0 if m.get("reused") else m.get("seconds")
                             for m in (t.user_attrs.get("latency_method", {}) for t in done)],
        "points": [(t.user_attrs.get("macro_f1"), t.user_attrs.get("f1_gap")) for t in done],
        "learning_rates": [t.params.get("learning_rate") for t in done],
        # precision: auto trains in bf16 where the hardware has it (the peer, as documented, in fp32)
        "precision": sorted({str((t.user_attrs.get("config") or {}).get("precision")) for t in done}),
    }


# ---------------------------------------------------------------------- the peer

def peer_side(data: tuple[Path, Path], work: Path, trials: int, epochs: int, max_length: int,
              batch_size: int, precision: str = "fp32") -> dict[str, Any]:
    started = time.perf_counter()
    command = [sys.executable, __file__, "--peer-process", str(data[0]), str(data[1]), str(work), str(trials),
               str(epochs), str(max_length), str(batch_size), precision]
    subprocess.run(command, cwd=work, check=True)
    wall = time.perf_counter() - started
    found = json.loads((work / "peer.json").read_text(encoding="utf-8"))
    return {"wall_s": wall, **found}


def peer_process(train: str, validation: str, work: str, trials: int, epochs: int, max_length: int,
                 batch_size: int, precision: str = "fp32") -> None:
    """Trainer.hyperparameter_search(backend="optuna") as its documentation shows it, on the same work
    (`precision` bf16: `TrainingArguments(bf16=True)`, Trainer's own bf16 autocast)."""
    import numpy as np
    import optuna
    from datasets import load_dataset
    from peft import LoraConfig, get_peft_model
    from sklearn.metrics import f1_score
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)

    from hpsearch.objectives import group_metrics
    from hpsearch.space import resolve_model

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = resolve_model("minilm")
    raw = load_dataset("json", data_files={"train": train, "validation": validation})
    names = sorted(set(raw["train"]["label"]))
    index = {n: i for i, n in enumerate(names)}
    groups = raw["validation"]["group"]
    tokenizer = AutoTokenizer.from_pretrained(path)

    def encode(batch: dict[str, Any]) -> dict[str, Any]:
        out = tokenizer(batch["text"], truncation=True, max_length=max_length)
        out["labels"] = [index[label] for label in batch["label"]]
        return out

    data = raw.map(encode, batched=True, remove_columns=raw["train"].column_names)

    def model_init(trial: Any = None) -> Any:
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(names), id2label=dict(enumerate(names)), label2id=index)
        lora = LoraConfig(task_type="SEQ_CLS", r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=TARGETS)
        return get_peft_model(model, lora)

    def compute_metrics(prediction: Any) -> dict[str, float]:
        predicted = np.argmax(prediction.predictions, axis=-1).tolist()
        truth = prediction.label_ids.tolist()
        values, _ = group_metrics(truth, predicted, {"group": groups}, min_group_size=5, label_names=names)
        return {"macro_f1": float(f1_score(truth, predicted, average="macro", labels=list(range(len(names))))),
                "f1_gap": float(values.get("f1_gap", float("nan")))}

    args = TrainingArguments(
        output_dir=os.path.join(work, "peer-out"), per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=64, num_train_epochs=epochs, eval_strategy="no", save_strategy="no",
        logging_strategy="no", report_to=[], lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0,
        max_grad_norm=1.0, seed=0, use_cpu=True, disable_tqdm=True, bf16=precision == "bf16",
    )
    trainer = Trainer(model_init=model_init, args=args, train_dataset=data["train"], eval_dataset=data["validation"],
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
    points: list[tuple[float, float]] = []
    ends: list[float] = [time.perf_counter()]

    def objective(metrics: dict[str, float]) -> list[float]:
        points.append((metrics["eval_macro_f1"], metrics["eval_f1_gap"]))
        ends.append(time.perf_counter())
        return [metrics["eval_macro_f1"], metrics["eval_f1_gap"]]

    trainer.hyperparameter_search(
        hp_space=lambda trial: {"learning_rate": trial.suggest_float("learning_rate", LR_LOW, LR_HIGH, log=True)},
        compute_objective=objective, n_trials=trials, direction=["maximize", "minimize"], backend="optuna",
        sampler=optuna.samplers.TPESampler(seed=0),
    )
    Path(work, "peer.json").write_text(json.dumps({
        "trials": len(points), "trial_s": [b - a for a, b in zip(ends, ends[1:])], "points": points,
    }), encoding="utf-8")


# ---------------------------------------------------------------------- the run

def summarise(side: dict[str, Any]) -> dict[str, Any]:
    points = [tuple(p) for p in side["points"]]
    f1s = [p[0] for p in points if p[0] is not None]
    return {
        "wall_s": round(side["wall_s"], 1), "trials": side["trials"],
        "wall_per_trial_s": round(side["wall_s"] / max(side["trials"], 1), 1),
        "median_trial_s": round(statistics.median(side["trial_s"]), 1) if side["trial_s"] else None,
        "best_macro_f1": round(max(f1s), 4) if f1s else None,
        "hypervolume": round(hypervolume(points), 4),
        "points": [[round(a, 4) if a is not None else None, round(b, 4) if b is not None else None]
                   for a, b in points],
        **{k: [round(x, 1) for x in side[k] if x is not None]
           for k in ("train_s", "evaluate_s", "latency_timing_s") if k in side},
        **({"precision": side["precision"]} if side.get("precision") else {}),
    }


def write_docs(results: dict[str, Any]) -> None:
    lines = [
        SECTION,
        "",
        "hpsearch against `Trainer.hyperparameter_search(backend=\"optuna\")` doing the same work (benchmarks/"
        "peer_trainer.py: same packaged MiniLM, examples, epochs, max length, batch size, LoRA on query, key, value "
        "and attention.output.dense with rank 8, the learning rate searched log-uniformly in [1e-3, 1e-2], the same "
        "number of trials; hpsearch as its default preset runs them — two at a time, one thread each, since the last run "
        "below; one at a time before —, the peer one at a time as documented), the two alternating in one run. "
        "Precision: each side's default — the peer fp32 (Trainer's `bf16=False`); hpsearch `precision: auto` since "
        "commit 5981f00, bf16 where the hardware multiplies it natively (the runs say what its trials trained in), "
        "fp32 before; Trainer would train in bf16 too if told `bf16=True`. Wall time per trial: each side's process "
        "from start to end (imports, Ray, model loading included) divided by its trials; hpsearch also measures the "
        "deployed model's latency and throughput in every trial, the peer neither. Quality: best validation macro-F1 "
        "and the hypervolume of (macro-F1 max, f1_gap min) against (0, 1), f1_gap by the same code for both. "
        "Target: hpsearch ≤ 0.6× the peer's wall time per trial, quality no worse. The 2-core machine was shared with "
        "other engineers' jobs during the run: only the same-run ratio means anything.",
        "",
    ]
    for run in results.get("runs", []):
        lines += [f"Command: `{run['command']}` on {run.get('machine', 'this machine')}, {run.get('date', '')} "
                  f"({run['train']} training / {run['eval']} validation examples, {run['epochs']} epoch(s), "
                  f"max length {run['max_length']}, batch {run['batch_size']}, {run['trials']} trials per side"
                  + (f"; {run['note']}" if run.get("note") else "") + ").", "",
                  "| dataset | side | wall s / trial | ratio hpsearch / peer | median trial s | best macro-F1 | "
                  "hypervolume |", "|---|---|---|---|---|---|---|"]
        phases = []
        for name, pair in run["datasets"].items():
            h, p = pair["hpsearch"], pair["peer"]
            if h.get("train_s"):
                parts = [f"training {', '.join(map(str, h['train_s']))}"]
                if h.get("evaluate_s"):
                    parts.append(f"evaluation and latency {', '.join(map(str, h['evaluate_s']))}")
                if h.get("latency_timing_s"):
                    parts.append(f"of which timing requests (waiting for the node's measurement slot included; "
                                 f"0: reused) {', '.join(map(str, h['latency_timing_s']))}")
                if h.get("precision"):
                    parts.append(f"trained in {', '.join(h['precision'])}")
                phases.append(f"{name}: {'; '.join(parts)}")
            ratio = h["wall_per_trial_s"] / p["wall_per_trial_s"]
            peer = "Trainer.hyperparameter_search" + (" (bf16=True)" if run.get("peer_precision") == "bf16" else "")
            for label, s in (("hpsearch", h), (peer, p)):
                lines.append(f"| {name} | {label} | {s['wall_per_trial_s']:.1f} | "
                             f"{f'{ratio:.2f}' if s is h else ''} | {s['median_trial_s']} | {_f(s['best_macro_f1'])} | "
                             f"{s['hypervolume']:.3f} |")
        if phases:
            lines += ["", "hpsearch's trials, seconds each (in trial order): " + " — ".join(phases) + "."]
        if "ratio_all" in run:
            lines += ["", f"All datasets together: hpsearch / peer wall time per trial = **{run['ratio_all']:.2f}**."]
        lines.append("")
    if results.get("findings"):
        lines += ["What the runs and a profile show:", ""] + [f"- {line}" for line in results["findings"]] + [""]
    replace_section(DOCS, "\n".join(lines))


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--peer-process":
        a = sys.argv[2:]
        peer_process(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]), *a[7:8])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 train / 150 eval, 1 epoch, 2 trials per side")
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--eval", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--note", default="", help="a line kept with the results (what changed)")
    parser.add_argument("--peer-precision", choices=["fp32", "bf16"], default="fp32",
                        help="bf16: the peer trains with TrainingArguments(bf16=True) (its default is fp32)")
    parser.add_argument("--docs-only", action="store_true", help="rewrite docs/benchmarks.md from the kept results")
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {"runs": []}
    if args.docs_only:
        write_docs(results)
        return 0
    if args.quick:
        args.train, args.eval, args.epochs, args.trials = 300, 150, 1, 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = Path(tempfile.mkdtemp(prefix="hpsearch-peer-"))
    shape = dict(trials=args.trials, epochs=args.epochs, max_length=args.max_length, batch_size=args.batch_size)
    run: dict[str, Any] = {"datasets": {}}
    totals = {"hpsearch": [0.0, 0], "peer": [0.0, 0]}
    for i, name in enumerate(args.datasets):
        data = prepare(name, args.train, args.eval, work / name)
        order = ("hpsearch", "peer") if i % 2 == 0 else ("peer", "hpsearch")
        pair: dict[str, Any] = {}
        for side in order:
            where = work / name / side
            where.mkdir()
            measured = (hpsearch_side(data, where, **shape) if side == "hpsearch"
                        else peer_side(data, where, **shape, precision=args.peer_precision))
            pair[side] = summarise(measured)
            totals[side][0] += measured["wall_s"]
            totals[side][1] += measured["trials"]
            print(name, side, json.dumps(pair[side]), flush=True)
        pair["ratio"] = round(pair["hpsearch"]["wall_per_trial_s"] / pair["peer"]["wall_per_trial_s"], 3)
        print(f"{name}: hpsearch / peer wall time per trial = {pair['ratio']:.2f}", flush=True)
        run["datasets"][name] = pair
    run["ratio_all"] = round((totals["hpsearch"][0] / totals["hpsearch"][1]) / (totals["peer"][0] / totals["peer"][1]), 3)
    print(f"all: hpsearch / peer wall time per trial = {run['ratio_all']:.2f}", flush=True)
    from hpsearch.trial import describe

    command = ".venv/bin/python benchmarks/peer_trainer.py " + (
        "--quick" if args.quick else f"--train {args.train} --eval {args.eval} --epochs {args.epochs} "
        f"--trials {args.trials}") + (
        f" --datasets {' '.join(args.datasets)}" if list(args.datasets) != list(DATASETS) else "") + (
        f" --peer-precision {args.peer_precision}" if args.peer_precision != "fp32" else "")
    run.update(command=command, machine=describe(), date=time.strftime("%Y-%m-%d"), train=args.train,
               eval=args.eval, note=args.note, peer_precision=args.peer_precision, **shape)
    # a run replaces the kept one of the same command and note (the note says what changed between runs)
    results["runs"] = [r for r in results["runs"] if (r["command"], r.get("note")) != (command, run["note"])] + [run]
    save_results(RESULTS, results)
    write_docs(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
