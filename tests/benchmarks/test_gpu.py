"""benchmarks/gpu.py: its harness, run on a CPU with a tiny decoder, and what it reads of nvidia-smi."""

from __future__ import annotations

import json
import statistics

from ..conftest import ROOT, SHARED_DATASETS, need
from .conftest import load_benchmark

TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2}


def test_the_harness_runs_every_variant_through_the_trial_runner_and_writes_its_table(tmp_path, monkeypatch) -> None:
    need((SHARED_DATASETS / "engineering_issues" / "train.jsonl").is_file(), "the shared engineering_issues set")
    gpu = load_benchmark("gpu")
    out = tmp_path / "gpu_lora.json"
    code = gpu.main(["run", "--cpu", "--train", "48", "--eval", "24", "--max-length", "24", "--batch", "8",
                     "--repeats", "1", "--sizes", json.dumps(TINY), "--out", str(out)])
    assert code == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["decoder"]["num_hidden_layers"] == 2 and results["decoder"]["params"] > 0
    assert results["workload"]["tokens"] == results["workload"]["train_examples"] * results["workload"]["mean_tokens"]
    rows = {r["variant"]: r for r in results["rows"]}
    assert set(rows) == set(gpu.VARIANTS)
    fp32 = rows["lora-fp32"]
    assert fp32["tokens_per_s"] > 0 and fp32["peak_memory_mb"] > 0 and fp32["latency_p50_ms"] > 0
    assert fp32["busy_trial"] is None  # no GPU to sample
    for name, row in rows.items():  # bf16 fails, naming why, on a CPU without bf16 arithmetic
        assert "tokens_per_s" in row or "bf16" in row["failed"], name

    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another\n\ntext\n", encoding="utf-8")
    monkeypatch.setattr(gpu, "DOCS", docs)
    gpu.write_docs(results, out)
    text = docs.read_text(encoding="utf-8")
    assert gpu.SECTION in text and "## Another" in text
    assert f"| LoRA, fp32 | {fp32['tokens_per_s']:,.0f} |" in text


def test_gpu_busy_is_read_from_the_sm_column_of_nvidia_smi_dmon() -> None:
    gpu = load_benchmark("gpu")
    curves = load_benchmark("learning_curves")
    text = (ROOT / "benchmarks" / "results" / "learning_curves_dmon.txt").read_text(encoding="utf-8")
    busy = gpu.dmon_busy(text)
    table = json.loads((ROOT / "benchmarks" / "results" / "learning_curves.json").read_text(encoding="utf-8"))
    assert len(busy) == curves.gpu_sharing(table, text)["samples"]
    assert statistics.fmean(busy) == curves.gpu_sharing(table, text)["busy_mean"]
    assert gpu.dmon_busy("# gpu  pwr  sm  mem\n# Idx  W  %  %\n    0  70  93  40\n    0  71  -  41\n") == [93]


def test_gpu_busy_while_the_trials_ran_is_read_from_dmon_s_clock() -> None:
    gpu = load_benchmark("gpu")
    text = ("#Time        gpu     sm    mem\n#HH:MM:SS    Idx      %      %\n 10:00:01      0      0      0\n"
            " 10:00:02      0     90     40\n 10:00:03      0     70     40\n 10:00:04      0      -      0\n")
    assert gpu.dmon_samples(text) == [("10:00:01", 0), ("10:00:02", 90), ("10:00:03", 70)]
    assert gpu.dmon_busy(text) == [0, 90, 70]


def test_the_share_summary_reads_the_study_and_the_samples_while_its_trials_ran(tmp_path) -> None:
    import datetime

    import optuna

    gpu = load_benchmark("gpu")
    study = optuna.create_study(study_name="gpu-share", storage=f"sqlite:///{tmp_path / 'study.db'}",
                                directions=["maximize", "minimize"])
    day = datetime.datetime(2026, 12, 6)
    for number, (start, end, peak) in enumerate([(2, 12, 400.0), (3, 13, 500.0)]):
        study.add_trial(optuna.trial.FrozenTrial(
            number=number, state=optuna.trial.TrialState.COMPLETE, value=None, values=[0.5, 10.0],
            datetime_start=day + datetime.timedelta(seconds=start), datetime_complete=day + datetime.timedelta(seconds=end),
            params={}, distributions={}, user_attrs={"peak_memory_mb": peak, "device": {"gpu": "NVIDIA H200"}},
            system_attrs={}, intermediate_values={}, trial_id=number))
    samples = [f" 00:00:{s:02d}      0     {b:2d}     40" for s, b in
               [(0, 0), (1, 0), (2, 90), (5, 80), (8, 70), (13, 60), (15, 0)]]
    (tmp_path / "dmon.txt").write_text("#Time        gpu     sm    mem\n#HH:MM:SS    Idx      %      %\n"
                                       + "\n".join(samples) + "\n", encoding="utf-8")
    (tmp_path / "share.json").write_text('{"wall_s": 20.0, "concurrent": 8, "budget_s": 120, "train": 1200}',
                                         encoding="utf-8")
    g = gpu.share_summary(tmp_path)
    assert g["complete"] == 2 and g["busy_samples"] == 7 and g["busy_running_samples"] == 4
    assert g["busy_running"] == 75.0 and g["trials_per_hour"] == 360.0 and g["gpu"] == "NVIDIA H200"
    assert g["trial_s_median"] == 10.0 and g["peak_mb_median"] == 450.0
    lines = "\n".join(gpu.share_lines(g, tmp_path))
    assert "| GPU busy from the first trial's start to the last one's end (the trials' wall time) | 75% (4 samples); " \
           "target (BENCHMARKS.md §5) ≥ 80%: not met |" in lines
