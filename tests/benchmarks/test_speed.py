"""The speed benchmarks' own arithmetic (benchmarks/peer_trainer.py, benchmarks/overhead.py), not their timings."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def peer() -> Any:
    return load_benchmark("peer_trainer")


def test_hypervolume_of_macro_f1_and_gap_against_zero_one(peer: Any) -> None:
    assert peer.hypervolume([(0.5, 0.5)]) == pytest.approx(0.25)
    assert peer.hypervolume([(0.5, 0.5), (0.4, 0.6)]) == pytest.approx(0.25)  # dominated: adds nothing
    assert peer.hypervolume([(0.5, 0.5), (0.8, 0.9)]) == pytest.approx(0.25 + 0.3 * 0.1)
    assert peer.hypervolume([]) == 0.0 and peer.hypervolume([(0.9, None)]) == 0.0


def test_both_sides_read_the_same_disjoint_stratified_sample(peer: Any, tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "shared" / "toy"
    data.mkdir(parents=True)
    rows = [{"text": f"t{i}", "label": "a" if i % 3 else "b", "group": "g", "extra": 1} for i in range(300)]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(peer, "SHARED", tmp_path / "shared")
    train, validation = peer.prepare("toy", 60, 30, tmp_path / "out")
    read = [[json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()] for p in (train, validation)]
    assert [len(r) for r in read] == [60, 30]
    assert not {r["text"] for r in read[0]} & {r["text"] for r in read[1]}
    assert Counter(r["label"] for r in read[0]) == {"a": 40, "b": 20} and set(read[0][0]) == {"text", "label", "group"}


def test_overhead_fake_trials_report_as_many_attributes_as_asked() -> None:
    overhead = load_benchmark("overhead")
    metrics, extra = overhead.fake_result(150)
    assert 140 <= len(metrics) + len(extra) <= 160
    summary = overhead._summary([10.0, 20.0, 30.0, 40.0])
    assert summary["median_ms"] == 25.0 and summary["trials"] == 5


def test_the_overhead_no_op_trainable_takes_what_the_driver_gives_the_real_one() -> None:
    import inspect

    from hpsearch.study._trainable import trainable

    overhead = load_benchmark("overhead")
    assert inspect.signature(overhead.noop_trainable).parameters.keys() == inspect.signature(trainable).parameters.keys()


def test_overhead_page_states_the_targets_and_keeps_every_run() -> None:
    overhead = load_benchmark("overhead")

    def rows(plain: float, sqlite: float, postgres: float | None) -> list[dict]:
        out = [{"path": "plain optuna", "storage": "in-memory", "median_ms": plain},
               {"path": "hpsearch (Ray Tune, reused worker)", "storage": "SQLite", "median_ms": sqlite,
                "user_attrs_per_trial": 155}]
        if postgres is not None:
            out.append({"path": "hpsearch (Ray Tune, reused worker)", "storage": "PostgreSQL", "median_ms": postgres})
        return out

    met = overhead.targets(rows(6.0, 39.4, 53.4))
    assert "10-s trial is met (0.4% on SQLite, 0.5% on PostgreSQL)" in met and "(SQLite) is met (39.4 ms)" in met
    assert "up to 7.6 ms" in met  # 50 ms at 6.6x plain Optuna
    assert "(SQLite) is not met (101.5 ms)" in overhead.targets(rows(18.9, 101.5, 179.0))
    first = {"date": "d1", "machine": "m", "command": "c", "rows": rows(18.9, 101.5, 179.0)}
    history = overhead.kept_history(first)
    assert history == [{"date": "d1", "machine": "m", "command": "c", "plain_ms": 18.9, "sqlite_ms": 101.5,
                        "postgres_ms": 179.0, "attrs": 155}]
    assert overhead.kept_history({**first, "history": history}) == history  # its own run is not kept twice
    second = overhead.kept_history({"date": "d2", "machine": "m", "command": "c", "rows": rows(6.0, 39.4, None),
                                    "history": history})
    assert [h["date"] for h in second] == ["d1", "d2"] and second[1]["postgres_ms"] is None


def test_concurrency_runs_the_default_preset_at_the_concurrency_asked() -> None:
    import yaml

    concurrency = load_benchmark("concurrency")
    for concurrent in (1, 2, 3):
        preset = yaml.safe_load(concurrency.preset_for(concurrent))
        assert preset["max_concurrent_trials"] == concurrent and preset["sampler"] == "gp_pool"


def test_concurrency_conclusion_pools_every_run_and_says_when_neither_way_wins() -> None:
    concurrency = load_benchmark("concurrency")

    def row(date: str, concurrent: int, wall: float) -> dict:
        return {"date": date, "order": "1 then 2", "concurrent": concurrent, "trials": 4, "wall_s": wall,
                "trials_per_hour": round(4 * 3600 / wall, 1)}

    quiet = [row("d1", 1, 100.0), row("d1", 2, 104.0)]
    said = concurrency.conclusion(quiet)
    assert "neither gives 10% more" in said and "0.96× (d1, 1 then 2)" in said
    said = concurrency.conclusion(quiet + [row("d2", 1, 400.0), row("d2", 2, 100.0)])
    assert "2 × half gives more trials per hour" in said and "4.00× (d2, 1 then 2)" in said
