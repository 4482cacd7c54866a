"""On a GPU: QLoRA (bitsandbytes nf4, bf16 compute) against 16-bit LoRA on a decoder of >= 0.5B
parameters, through the trial runner: training tokens/s, peak GPU memory, GPU busy per trial wall time,
and the deployed model's latency (timed with CUDA synchronisation).

No weights travel to the GPU machine (BENCHMARKS.md §5): the decoder is Qwen2-style, randomly
initialised from a config, saved in bf16 as real checkpoints are, with the packaged MiniLM's tokenizer.
Speed and memory do not depend on the weights' values, so accuracy is not read here.

Each variant is one trial of `hpsearch.trial.Worker.run` on engineering_issues texts, alternating,
`--repeats` times each, in one process:

* ``lora-fp32``: LoRA, `precision: fp32` (fp32 weights and compute);
* ``lora-bf16``: LoRA, `precision: bf16` (the runner's bf16: autocast over the fp32 base);
* ``lora-bf16-weights``: LoRA over a base held in bf16 (16-bit LoRA as PEFT's guides load it; not a
  runner option: this script casts the worker's frozen base, the trainable weights stay fp32);
* ``qlora-nf4``: `quantization: nf4` (the runner's QLoRA: 4-bit base, bf16 compute, double quantisation).

And trials sharing the GPU through Ray's fractional GPUs (``share``): `hpsearch run` itself, with a preset
of `gpus_per_trial` below 1, while `nvidia-smi dmon` samples the GPU; a MiniLM-shaped encoder built from
the packaged MiniLM's config (random weights: they do not travel either), so what it reads is how busy the
trials keep the GPU and how many run per hour, not what they learn.

    # here: what the GPU machine lacks (packages, tokenizer, data, the share study) into .gpu/
    benchmarks/gpu_payload.sh
    # on the GPU machine (the device tool, carry [".gpu"]): the command the payload script prints, which runs
    python benchmarks/gpu.py run --source engineering_issues/train.jsonl --tokenizer DIR --out gpu_lora.json
    python benchmarks/gpu.py share --source engineering_issues/train.jsonl --tokenizer DIR --out DIR
    # here: the section of docs/benchmarks.md from the committed results
    .venv/bin/python benchmarks/gpu.py docs benchmarks/results/gpu_lora.json --share benchmarks/results/gpu_share
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dmon import dmon_busy, dmon_samples  # noqa: E402,F401 - and for the tests
from _docs import replace_section  # noqa: E402

from real_data import ACCURACY_LATENCY, DOCS, SHARED, engineering_trial_space, hold_out  # noqa: E402

SECTION = "## GPU: QLoRA against 16-bit LoRA on a 0.5B decoder"
RESULTS = Path(__file__).resolve().parent / "results" / "gpu_lora.json"
VARIANTS = {
    "lora-fp32": {"precision": "fp32", "quantization": "none"},
    "lora-bf16": {"precision": "bf16", "quantization": "none"},
    "lora-bf16-weights": {"precision": "bf16", "quantization": "none"},
    "qlora-nf4": {"precision": "bf16", "quantization": "nf4"},
}
#: Qwen2-style and >= 0.5B parameters with MiniLM's 30,522-token vocabulary (Qwen2.5-0.5B's own
#: shape counts 0.49B with its 151,936-token vocabulary).
DECODER = {"hidden_size": 1024, "intermediate_size": 5504, "num_hidden_layers": 24, "num_attention_heads": 16,
           "num_key_value_heads": 8, "max_position_embeddings": 4096}


def build_decoder(path: Path, tokenizer_dir: str, sizes: dict[str, int]) -> int:
    """A random Qwen2 sequence classifier saved in bf16 at `path` with `tokenizer_dir`'s tokenizer."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = Qwen2Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True, **sizes)
    torch.manual_seed(0)
    model = Qwen2ForSequenceClassification(config).to(torch.bfloat16)
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return params


class BusySampler:
    """GPU busy (NVML's utilisation: the share of time a kernel ran), sampled every `interval` s."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import torch

        if not torch.cuda.is_available():  # a smoke run on a CPU: nothing to sample
            return
        while not self._stop.is_set():
            try:
                self.samples.append((time.perf_counter(), int(torch.cuda.utilization())))
            except Exception as exc:  # noqa: BLE001 - no NVML: the table says so (no busy figures)
                print(f"GPU busy not sampled: {type(exc).__name__}: {exc}", flush=True)
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "BusySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def mean(self, start: float, end: float) -> float | None:
        inside = [busy for t, busy in self.samples if start <= t <= end]
        return statistics.fmean(inside) if inside else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from hpsearch.plan import load_plan
    from hpsearch.space import resolve_model
    from hpsearch.trial import TrialFailed, Worker
    from hpsearch.trial._hardware import describe

    work = Path(tempfile.mkdtemp(prefix="hpsearch-gpu-"))
    model = work / "decoder"
    started = time.perf_counter()
    sizes = {**DECODER, **json.loads(args.sizes or "{}")}
    params = build_decoder(model, args.tokenizer or resolve_model("minilm"), sizes)
    print(f"decoder: {params / 1e9:.3f}B parameters, saved in bf16 in {time.perf_counter() - started:.0f} s", flush=True)
    space = engineering_trial_space(work, "gpu", args.train, model=str(model), source=Path(args.source),
                                    evaluated=args.eval)
    worker = Worker(load_plan(space))
    cuda = worker.device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    # the checkpoint is bf16, so casting the base to bf16 and back to fp32 (in place) loses nothing
    fp32_base = worker.base_model
    lengths = [len(ids) for ids in worker.encoded("train", worker.splits.train, args.max_length)]
    tokens = sum(lengths) * args.epochs
    train_window: dict[str, float] = {}
    original_train = worker.train

    def timed_train(*a: Any, **k: Any) -> Any:
        sync()
        train_window["start"] = time.perf_counter()
        try:
            return original_train(*a, **k)
        finally:
            sync()
            train_window["end"] = time.perf_counter()

    worker.train = timed_train  # type: ignore[method-assign]
    original_build = worker.build_model

    def build_upcasting_trainables(config: Any) -> Any:
        model = original_build(config)
        for p in model.parameters():  # the head, re-initialised from the bf16 base, trains in fp32
            if p.requires_grad and p.dtype != torch.float32:
                p.data = p.data.float()
        return model

    original_evaluate = worker.evaluate

    def evaluate_in_bf16(model: Any, config: Any) -> Any:
        with torch.autocast(worker.device.type, dtype=torch.bfloat16):  # a bf16 base with an fp32 head, deployed
            return original_evaluate(model, config)

    rows: list[dict[str, Any]] = []
    with BusySampler() as busy:
        for repeat in range(args.repeats):
            for name, knobs in VARIANTS.items():
                bf16_base = name == "lora-bf16-weights"
                worker.base_model = fp32_base.to(torch.bfloat16) if bf16_base else fp32_base.float()
                worker.build_model = build_upcasting_trainables if bf16_base else original_build  # type: ignore[method-assign]
                worker.evaluate = evaluate_in_bf16 if bf16_base else original_evaluate  # type: ignore[method-assign]
                values = {"method": "lora", "learning_rate": 1e-4, "epochs": args.epochs,
                          "batch_size": args.batch, "warmup_ratio": 0.1, "max_length": args.max_length,
                          "target_modules": "attention", "lora_r": 16, "seed": repeat, **knobs}
                if cuda:
                    torch.cuda.empty_cache()
                # each trial times its own requests: the worker's cache of timings per deployed shape does
                # not know the bf16 base (and fp32 and bf16 LoRA deploy the same fp32 model anyway)
                worker.forget_timings()
                t0 = time.perf_counter()
                try:
                    result = worker.run(values)
                except TrialFailed as exc:
                    print(f"{name}: failed: {exc}", flush=True)
                    rows.append({"variant": name, "repeat": repeat, "failed": str(exc)})
                    continue
                wall = time.perf_counter() - t0
                m = result.metrics
                train_s = train_window["end"] - train_window["start"]
                row = {
                    "variant": name, "repeat": repeat, "wall_s": wall, "train_loop_s": train_s,
                    "tokens_per_s": tokens / train_s, "peak_memory_mb": m["peak_memory_mb"],
                    "busy_trial": busy.mean(t0, t0 + wall),
                    "busy_training": busy.mean(train_window["start"], train_window["end"]),
                    "latency_p50_ms": m["latency_p50_ms"], "latency_p95_ms": m.get("latency_p95_ms"),
                    "trainable_params": m["trainable_params"], "model_size_mb": m.get("model_size_mb"),
                    "train_loss": result.attrs["history"][-1].get("train_loss") if result.attrs["history"] else None,
                    "quantization_applied": result.attrs.get("quantization_applied"),
                    "latency_method": result.attrs.get("latency_method"),
                }
                rows.append(row)
                print(f"{name} #{repeat + 1}: {row['tokens_per_s']:.0f} tokens/s, peak {row['peak_memory_mb']:.0f} MB, "
                      f"busy {row['busy_trial'] or 0:.0f}% of the trial ({row['busy_training'] or 0:.0f}% training), "
                      f"wall {wall:.1f} s, latency p50 {row['latency_p50_ms']:.2f} ms", flush=True)
    import peft
    import transformers

    try:
        import bitsandbytes
        bnb = bitsandbytes.__version__
    except ImportError:
        bnb = None
    return {
        "recorded": time.strftime("%Y-%m-%d"), "device": describe(),
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                     "bitsandbytes": bnb},
        "decoder": {"params": params, **sizes, "vocab_size": len(worker.tokenizer)},
        "workload": {"train_examples": len(lengths), "epochs": args.epochs, "max_length": args.max_length,
                     "batch_size": args.batch, "tokens": tokens, "mean_tokens": sum(lengths) / len(lengths),
                     "validation": len(worker.splits.validation), "repeats": args.repeats},
        "rows": rows,
    }


SHARE_PRESET = """# benchmarks/gpu.py share: trials sharing one GPU through Ray's fractional GPUs
sampler: tpe_local
seed: 0
max_concurrent_trials: {concurrent}
cpus_per_trial: {cpus}
gpus_per_trial: {gpus}
time_budget_s: {budget}
"""


def prepare_share(work: Path, source: Path, tokenizer_dir: str, concurrent: int, cpus: float, budget: float,
                  train: int) -> Path:
    """The space of `share` in `work`: a random MiniLM-shaped encoder, engineering_issues held out, the preset.

    Written the same way on every machine (so a study created on one is the same search on another)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, BertForSequenceClassification

    model = work / "minilm-random"
    if not (model / "config.json").is_file():
        config = AutoConfig.from_pretrained(tokenizer_dir)
        torch.manual_seed(0)
        BertForSequenceClassification(config).save_pretrained(model)
        AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(model)
    hold_out(source, work / "data")
    (work / "search.yaml").write_text(SHARE_PRESET.format(concurrent=concurrent, cpus=cpus, gpus=1 / concurrent,
                                                          budget=budget), encoding="utf-8")
    (work / "objectives.yaml").write_text(ACCURACY_LATENCY, encoding="utf-8")
    space = work / "space.yaml"
    space.write_text(
        f"name: gpu-share\nmodel: {model}\nbaselines: []\nobjectives: objectives.yaml\nsearch: search.yaml\n"
        f"dataset: {{train: data/train.jsonl, test: data/test.jsonl, max_train_examples: {train}, "
        "max_eval_examples: 300}\n"
        "params:\n  learning_rate: {type: float, low: 1.0e-4, high: 5.0e-3, log: true}\n"
        "  lora_r: {type: categorical, choices: [4, 8, 16, 32]}\n"
        "  batch_size: {type: categorical, choices: [16, 32]}\n"
        "fixed: {epochs: 3, max_length: 128, pooling: mean}\n", encoding="utf-8")
    return space


def share(args: argparse.Namespace) -> int:
    """`hpsearch run` with fractional GPUs, `nvidia-smi dmon` beside it; the study and samples into --out."""
    import shutil
    import subprocess

    args.out.mkdir(parents=True, exist_ok=True)
    space = prepare_share(args.work, Path(args.source), args.tokenizer, args.concurrent, args.cpus, args.budget,
                          args.train)
    if args.prepare_only:  # a study created here (its dataset card is written on creation), run elsewhere
        from hpsearch.plan import load_plan
        from hpsearch.study._join import join_study
        from hpsearch.study._storage import open_storage

        plan = load_plan(space)
        join_study(open_storage(args.storage), "gpu-share", plan, plan.splits(),
                   plan.objectives.parsed_constraints())
        return 0
    smi = shutil.which("nvidia-smi")  # none: a rehearsal on a CPU
    dmon = (subprocess.Popen([smi, "dmon", "-s", "um", "-d", "1", "-o", "T"], stdout=(args.out / "dmon.txt").open("w"))
            if smi else None)
    started = time.time()
    try:
        code = subprocess.call([sys.executable, "-m", "hpsearch", "run", str(space), "--storage", args.storage,
                                "--study", "gpu-share", "--trials", str(args.trials)]
                               + (["--address", args.address] if args.address else []))
    finally:
        if dmon:
            dmon.terminate()
    (args.out / "share.json").write_text(json.dumps({
        "recorded": time.strftime("%Y-%m-%d"), "wall_s": time.time() - started, "exit": code,
        "concurrent": args.concurrent, "budget_s": args.budget, "train": args.train}) + "\n", encoding="utf-8")
    busy = dmon_busy((args.out / "dmon.txt").read_text(encoding="utf-8")) if dmon else []
    print(f"hpsearch run exited {code}; GPU busy {statistics.fmean(busy) if busy else float('nan'):.0f}% "
          f"over {len(busy)} samples", flush=True)
    return code


def share_summary(folder: Path) -> dict[str, Any]:
    """What a `share` run's study and dmon samples say: trials, their wall times, GPU busy, memory."""
    import optuna

    run = json.loads((folder / "share.json").read_text(encoding="utf-8"))
    study = optuna.load_study(study_name="gpu-share", storage=f"sqlite:///{(folder / 'study.db').resolve()}")
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    samples = dmon_samples((folder / "dmon.txt").read_text(encoding="utf-8")) if (folder / "dmon.txt").is_file() else []
    busy = [b for _, b in samples]
    ran = [t for t in study.trials if t.datetime_start and t.datetime_complete]
    window = ((min(t.datetime_start for t in ran).strftime("%H:%M:%S"),
               max(t.datetime_complete for t in ran).strftime("%H:%M:%S")) if ran else None)
    while_running = [b for clock, b in samples if window and clock and window[0] <= clock <= window[1]]
    durations = [t.duration.total_seconds() for t in complete if t.duration]
    peaks = [t.user_attrs["peak_memory_mb"] for t in complete if "peak_memory_mb" in t.user_attrs]
    device = next((t.user_attrs.get("device") for t in complete if t.user_attrs.get("device")), {}) or {}
    return {
        **run, "complete": len(complete), "trials": len(study.trials), "busy_mean": statistics.fmean(busy) if busy else None,
        "busy_samples": len(busy), "busy_running": statistics.fmean(while_running) if while_running else None,
        "busy_running_samples": len(while_running), "trial_s_median": statistics.median(durations) if durations else None,
        "trials_per_hour": len(complete) / run["wall_s"] * 3600, "peak_mb_median": statistics.median(peaks) if peaks else None,
        "gpu": device.get("gpu"),
    }


def share_lines(g: dict[str, Any], folder: Path) -> list[str]:
    busy = "not sampled" if g["busy_mean"] is None else f"{g['busy_mean']:.0f}% (mean of {g['busy_samples']} samples of 1 s)"
    return [
        "", f"Trials sharing the GPU through Ray's fractional GPUs (`gpu.py share`, files in {folder}): `hpsearch run` "
        f"with `gpus_per_trial: {1 / g['concurrent']:g}`, {g['concurrent']} trials at a time, `time_budget_s: "
        f"{g['budget_s']:g}`, on {g['gpu'] or 'the GPU'}; a MiniLM-shaped encoder with random weights, LoRA, "
        f"{g['train']} engineering_issues training examples, 3 epochs.", "",
        "| figure | value |", "|---|---|",
        f"| GPU busy over the run (dmon `sm`) | {busy} |",
        f"| GPU busy from the first trial's start to the last one's end (the trials' wall time) | "
        + ("not sampled" if g.get("busy_running") is None else
           f"{g['busy_running']:.0f}% ({g['busy_running_samples']} samples); target (BENCHMARKS.md §5) ≥ 80%: "
           f"{'met' if g['busy_running'] >= 80 else 'not met'}") + " |",
        f"| trials complete | {g['complete']} of {g['trials']} begun, in {g['wall_s']:.0f} s: {g['trials_per_hour']:.0f} per hour |",
        f"| one trial's wall time while sharing (median) | {g['trial_s_median'] or float('nan'):.1f} s |",
        f"| peak GPU memory of one trial (median) | {g['peak_mb_median'] or float('nan'):.0f} MB |",
    ]


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per variant: medians over its repeats, and each against 16-bit LoRA (bf16 weights)."""
    out = []
    for name in VARIANTS:
        rows = [r for r in results["rows"] if r["variant"] == name and "failed" not in r]
        failed = [r["failed"] for r in results["rows"] if r["variant"] == name and "failed" in r]
        if not rows:
            out.append({"variant": name, "trials": 0, "failed": failed})
            continue
        med = {k: statistics.median([r[k] for r in rows if r[k] is not None] or [float("nan")])
               for k in ("tokens_per_s", "peak_memory_mb", "busy_trial", "busy_training", "wall_s", "latency_p50_ms")}
        out.append({"variant": name, "trials": len(rows), "failed": failed, **med})
    return out


LABELS = {
    "lora-fp32": "LoRA, fp32",
    "lora-bf16": "LoRA, `precision: bf16` (autocast, fp32 base)",
    "lora-bf16-weights": "16-bit LoRA (bf16 base weights)",
    "qlora-nf4": "QLoRA, `quantization: nf4` (bf16 compute)",
}


def write_docs(results: dict[str, Any], path: Path, share_folder: Path | None = None) -> None:
    w, d, v = results["workload"], results["decoder"], results["versions"]
    rows = summary(results)
    ref = next((r for r in rows if r["variant"] == "lora-bf16-weights" and r["trials"]), None)
    lines = [
        SECTION, "",
        f"Reproduce: `benchmarks/gpu_payload.sh` here, then on a GPU machine the command it prints (`gpu.py run` and "
        f"`gpu.py share`), then `.venv/bin/python benchmarks/gpu.py docs {path}` here. Recorded {results['recorded']} on one {results['gpu']} (the device "
        f"tool), torch {v['torch']}, transformers {v['transformers']}, peft {v['peft']}, bitsandbytes "
        f"{v['bitsandbytes']}; results in {path}.",
        f"A Qwen2-style decoder of {d['params'] / 1e9:.2f}B parameters (hidden {d['hidden_size']}, "
        f"{d['num_hidden_layers']} layers, grouped-query attention {d['num_attention_heads']}/{d['num_key_value_heads']}"
        f" heads, MLP {d['intermediate_size']}, MiniLM's {d['vocab_size']:,}-token vocabulary), randomly initialised "
        "from its config and saved in bf16 (no weights can travel to the GPU machine; speed and memory do not depend "
        "on their values), as a sequence classifier. Each trial is one `hpsearch.trial.Worker.run`: LoRA rank 16 on "
        f"the attention projections, {w['train_examples']:,} engineering_issues texts (mean {w['mean_tokens']:.0f} "
        f"tokens at max length {w['max_length']}), batch {w['batch_size']}, {w['epochs']} epoch(s), then the "
        f"evaluation of {w['validation']} validation texts and the deployed model's latency (CUDA-synchronised). "
        f"The variants alternate, {w['repeats']} trials each, in one process; medians.", "",
        "| variant | training tokens/s | vs 16-bit LoRA | peak GPU memory | vs 16-bit LoRA | GPU busy, trial wall "
        "time | GPU busy, training | trial wall s | latency p50 ms (batch 1) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if not r["trials"]:
            lines.append(f"| {LABELS[r['variant']]} | failed: {r['failed'][0] if r['failed'] else '—'} |  |  |  |  |  |  |  |")
            continue
        speed = f"{r['tokens_per_s'] / ref['tokens_per_s']:.2f}×" if ref else "—"
        memory = f"{r['peak_memory_mb'] / ref['peak_memory_mb']:.2f}×" if ref else "—"
        lines.append(f"| {LABELS[r['variant']]} | {r['tokens_per_s']:,.0f} | {speed} | {r['peak_memory_mb']:,.0f} MB | "
                     f"{memory} | {r['busy_trial']:.0f}% | {r['busy_training']:.0f}% | {r['wall_s']:.1f} | "
                     f"{r['latency_p50_ms']:.2f} |")
    if share_folder is not None:
        lines += share_lines(share_summary(share_folder), share_folder)
    replace_section(DOCS, "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train the variants on this machine's GPU and write the results")
    r.add_argument("--source", default=str(SHARED / "engineering_issues" / "train.jsonl"))
    r.add_argument("--tokenizer", help="a tokenizer directory (default: the packaged MiniLM's)")
    r.add_argument("--train", type=int, default=2000)
    r.add_argument("--eval", type=int, default=300)
    r.add_argument("--epochs", type=int, default=1)
    r.add_argument("--max-length", type=int, default=256)
    r.add_argument("--batch", type=int, default=16)
    r.add_argument("--repeats", type=int, default=2)
    r.add_argument("--out", type=Path, default=RESULTS)
    r.add_argument("--sizes", help="JSON overriding the decoder's config sizes (a smoke test's tiny decoder)")
    r.add_argument("--cpu", action="store_true", help="run without a GPU (a smoke test of the harness)")
    h = sub.add_parser("share", help="trials sharing this machine's GPU through Ray's fractional GPUs")
    h.add_argument("--source", default=str(SHARED / "engineering_issues" / "train.jsonl"))
    h.add_argument("--tokenizer", help="the packaged MiniLM's directory (its config and tokenizer)")
    h.add_argument("--work", type=Path, default=Path("/tmp/hpsearch-gpu-share"))
    h.add_argument("--storage", default="sqlite:////tmp/hpsearch-gpu-share/study.db")
    h.add_argument("--concurrent", type=int, default=8, help="trials at a time: each gets 1/N of the GPU")
    h.add_argument("--cpus", type=float, default=2.0, help="cpus_per_trial (the GPU machine: 16 CPUs, 8 trials)")
    h.add_argument("--budget", type=float, default=180.0, help="the run's time_budget_s")
    h.add_argument("--trials", type=int, default=64)
    h.add_argument("--train", type=int, default=1200)
    h.add_argument("--out", type=Path, default=Path("gpu-share"))
    h.add_argument("--address", help="a running Ray cluster's address (default: Ray on this machine)")
    h.add_argument("--prepare-only", action="store_true", help="write the space and create the study, run nothing")
    d = sub.add_parser("docs", help="the section of docs/benchmarks.md, from a run's results")
    d.add_argument("results", type=Path, nargs="?", default=RESULTS)
    d.add_argument("--share", type=Path, help="a `share` run's folder (share.json, dmon.txt, study.db)")
    args = parser.parse_args(argv)
    if args.command == "share":
        from hpsearch.space import resolve_model

        args.tokenizer = args.tokenizer or resolve_model("minilm")
        return share(args)
    if args.command == "run":
        import torch

        if not torch.cuda.is_available() and not args.cpu:
            print("error: benchmarks/gpu.py run needs a CUDA GPU", file=sys.stderr)
            return 2
        results = run(args)
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    write_docs(json.loads(args.results.read_text(encoding="utf-8")), args.results, args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
