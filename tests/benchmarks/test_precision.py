"""benchmarks/precision.py's table: bf16 against fp32 for the same trial."""

from __future__ import annotations

import argparse

from .conftest import load_benchmark


def test_the_table_gives_the_ratio_to_fp32_and_every_trials_scores(tmp_path, monkeypatch) -> None:
    precision = load_benchmark("precision")
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another\n\ntext\n", encoding="utf-8")
    monkeypatch.setattr(precision, "DOCS", docs)
    args = argparse.Namespace(train=600, epochs=2, repeats=2, learning_rate=2e-3)
    runs = {"fp32": [{"train_seconds": 50.0, "macro_f1": 0.70, "test_macro_f1": 0.69},
                     {"train_seconds": 54.0, "macro_f1": 0.71, "test_macro_f1": 0.70}],
            "bf16": [{"train_seconds": 39.0, "macro_f1": 0.70, "test_macro_f1": 0.68},
                     {"train_seconds": 41.0, "macro_f1": 0.72, "test_macro_f1": 0.70}]}
    precision.write_docs(runs, args, "600 train", "a CPU", None)
    text = docs.read_text(encoding="utf-8")
    assert "| bf16 | 2 | 40.0 | 0.77× | 0.700, 0.720 | 0.680, 0.700 |" in text
    assert "| fp32 | 2 | 52.0 | 1.00× |" in text and "## Another" in text
    precision.write_docs({"fp32": runs["fp32"], "bf16": []}, args, "600 train", "a CPU", "no bf16 here")
    text = docs.read_text(encoding="utf-8")
    assert text.count(precision.SECTION) == 1 and "| bf16 | 0 | — |" in text and "bf16 did not run here: no bf16 here." in text
