"""benchmarks/_docs.py: each benchmark script rewrites its own section of docs/benchmarks.md."""

from __future__ import annotations

from .conftest import load_benchmark


def test_a_section_is_replaced_in_place_inserted_before_another_or_appended(tmp_path) -> None:
    docs_module = load_benchmark("_docs")
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## A\n\nold a\n\n## B\n\nb\n", encoding="utf-8")
    docs_module.replace_section(docs, "## A\n\nnew a\n\n\n")
    assert docs.read_text(encoding="utf-8") == "# Benchmarks\n\n## A\n\nnew a\n\n## B\n\nb\n"
    docs_module.replace_section(docs, "## C\n\nc", before="## B")
    assert docs.read_text(encoding="utf-8") == "# Benchmarks\n\n## A\n\nnew a\n\n## C\n\nc\n\n## B\n\nb\n"
    docs_module.replace_section(docs, "## D\n\nd", before="## not there")
    docs_module.replace_section(docs, "## B\n\nnew b")
    assert docs.read_text(encoding="utf-8") == "# Benchmarks\n\n## A\n\nnew a\n\n## C\n\nc\n\n## B\n\nnew b\n\n## D\n\nd\n"
