"""benchmarks/compile.py's table: a trial's training steps compiled and eager."""

from __future__ import annotations

from .conftest import load_benchmark


def _run(first: float, step: float, total: float) -> dict[str, float]:
    return {"first_s": first, "step_ms": step, "total_s": total, "loss": 1.0}


def _results(compiled_step_ms: float) -> dict:
    return {"date": "2026-12-06", "hardware": "a CPU", "steps": 16, "threads": 1, "repeats": 2, "bf16_problem": None,
            "runs": {"fp32": {"eager": [_run(3.0, 3000.0, 50.0), _run(3.2, 3100.0, 52.0)],
                              "compile": [_run(45.0, compiled_step_ms, 90.0), _run(47.0, compiled_step_ms, 92.0)]}}}


def test_compiling_pays_only_where_the_steps_it_saves_repay_its_compilation_within_a_trial(tmp_path,
                                                                                          monkeypatch) -> None:
    compile_bench = load_benchmark("compile")
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another\n\ntext\n", encoding="utf-8")
    monkeypatch.setattr(compile_bench, "DOCS", docs)
    compile_bench.write_docs(_results(4000.0))  # slower per step: never pays
    text = docs.read_text(encoding="utf-8")
    assert "| fp32 | eager | 3.1 | 3050 | — | 51.0 | — |" in text
    assert "| fp32 | compile | 46.0 | 4000 | 1.31× | 91.0 | never (no faster per step) |" in text
    assert "compiling does not pay within such a trial" in text and "## Another" in text
    compile_bench.write_docs(_results(2050.0))  # 1 s a step saved: 43 s of compiling repaid after 43 steps
    text = docs.read_text(encoding="utf-8")
    assert text.count(compile_bench.SECTION) == 1
    assert "| fp32 | compile | 46.0 | 2050 | 0.67× | 91.0 | 43 |" in text
    assert "compiling would pay within such a trial for fp32" in text
