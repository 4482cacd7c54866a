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
