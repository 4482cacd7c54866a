"""benchmarks/data_check.py: the data check with the phone recognizer on every text or where a phone can be."""

from __future__ import annotations

import argparse

from ..conftest import SHARED_DATASETS, need
from .conftest import load_benchmark


def test_both_ways_give_the_same_report_on_a_real_set_and_the_table_says_the_ratio(tmp_path, monkeypatch) -> None:
    need((SHARED_DATASETS / "engineering_issues" / "train.jsonl").is_file(), "the shared engineering_issues set")
    bench = load_benchmark("data_check")
    every, skipping = bench.check_once("engineering_issues", True), bench.check_once("engineering_issues", False)
    assert every[1] == skipping[1] and every[2] == skipping[2] == 1500
    assert skipping[1]["pii"]["counts"] == {"EMAIL_ADDRESS": 11}  # no hash, UUID or long id taken for personal data
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another\n\ntext\n", encoding="utf-8")
    monkeypatch.setattr(bench, "DOCS", docs)
    bench.write_docs([{"dataset": "engineering_issues", "texts": 1500, "holding": 555, "every": 4.0, "skipping": 3.0,
                       "pii": {"EMAIL_ADDRESS": 11}}], argparse.Namespace(repeats=2), "a CPU")
    text = docs.read_text(encoding="utf-8")
    assert "| engineering_issues | 1,500 | 555 | 4.0 | 3.0 | 0.75× | EMAIL_ADDRESS 11 |" in text and "## Another" in text
