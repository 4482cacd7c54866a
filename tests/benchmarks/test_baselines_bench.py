"""benchmarks/baselines.py's table: the study's baselines on a trial's share of the CPUs or on the node's."""

from __future__ import annotations

import argparse

from .conftest import load_benchmark


def _run(threads: int, tfidf: float, probe: float, probe_f1: float = 0.6) -> dict:
    return {"threads": threads, "tfidf": {"seconds": tfidf, "macro_f1": 0.5},
            "linear_probe": {"seconds": probe, "macro_f1": probe_f1}}


def test_the_table_compares_both_settings_and_says_whether_the_scores_moved(tmp_path, monkeypatch) -> None:
    bench = load_benchmark("baselines")
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another\n\ntext\n", encoding="utf-8")
    monkeypatch.setattr(bench, "DOCS", docs)
    args = argparse.Namespace(dataset="medical_abstracts", train=600, repeats=2)
    runs = {"share": [_run(1, 10.0, 60.0), _run(1, 12.0, 62.0)], "node": [_run(2, 11.0, 30.0), _run(2, 11.0, 32.0)]}
    bench.write_docs(runs, args, "600 train", "a CPU")
    text = docs.read_text(encoding="utf-8")
    assert "| share | 1 | 11.0 | 61.0 | 72.0 | 1.00× |" in text
    assert "| node | 2 | 11.0 | 31.0 | 42.0 | 0.58× |" in text
    assert "linear probe (the frozen model's forward passes) 0.51×" in text and "the same in every run" in text
    runs["node"][1] = _run(2, 11.0, 32.0, probe_f1=0.59)
    bench.write_docs(runs, args, "600 train", "a CPU")
    assert "differs between runs" in docs.read_text(encoding="utf-8") and "## Another" in docs.read_text(encoding="utf-8")
