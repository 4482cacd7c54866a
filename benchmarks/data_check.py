"""The data check (`hpsearch data check`, and a new study's dataset card) on the shared curated sets,
with presidio's phone recognizer run on every text or only where a phone could be kept.

The check looks for personal data with presidio's pattern recognizers; its phone recognizer
(``phonenumbers``, every region) takes most of the check's time. A phone is kept only where it is
written in one of three forms: with a plus sign, with an area code in brackets, or as digit groups
joined by hyphens, 7 digits or more (``hpsearch.data._pii``). Texts with no such place skip that
recognizer. This runs the whole
check both ways on each dataset, alternating, `--repeats` times, in one process, and requires the
same report (every finding, personal data included) from both.

    .venv/bin/python benchmarks/data_check.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import replace_section  # noqa: E402

from real_data import DATASETS, DOCS, SHARED  # noqa: E402

SECTION = "## Data check: the phone recognizer only where a phone could be"


def check_once(dataset: str, every_text: bool) -> tuple[float, dict[str, Any], int]:
    """Seconds for the whole check of `dataset`, its report, and how many texts it read."""
    from hpsearch.data import _pii, check_splits, read_splits

    config = dataset_config(dataset)
    raw = read_splits(config, SHARED, f"{dataset} (benchmarks/data_check.py)")
    held = _pii._may_hold_phone
    if every_text:
        _pii._may_hold_phone = lambda text: True  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        report = check_splits(raw, config, dataset)
        seconds = time.perf_counter() - started
    finally:
        _pii._may_hold_phone = held  # type: ignore[assignment]
    return seconds, report.data, sum(len(s.texts) for s in raw.splits.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    args = parser.parse_args(argv)
    from hpsearch.data import _pii
    from hpsearch.trial._hardware import describe

    _pii._recognizers()  # loaded once, outside the timings
    rows = []
    for dataset in args.datasets:
        seconds: dict[bool, list[float]] = {True: [], False: []}
        reports: dict[bool, dict[str, Any]] = {}
        for _ in range(args.repeats):
            for every_text in (True, False):
                took, reports[every_text], texts = check_once(dataset, every_text)
                seconds[every_text].append(took)
        same = reports[True] == reports[False]
        if not same:
            print(f"error: {dataset}: the check's report differs when the phone recognizer skips texts", file=sys.stderr)
            return 1
        row = {"dataset": dataset, "texts": texts, "every": statistics.median(seconds[True]),
               "skipping": statistics.median(seconds[False]), "pii": reports[False]["pii"]["counts"],
               "holding": sum(_pii._may_hold_phone(t) for t in _texts(dataset))}
        rows.append(row)
        print(f"{dataset}: {texts} texts, check {row['every']:.1f} s with the phone recognizer on every text, "
              f"{row['skipping']:.1f} s skipping {texts - row['holding']}; same report", flush=True)
    write_docs(rows, args, describe())
    return 0


def dataset_config(dataset: str) -> Any:
    """The shared set's files: its train.jsonl, and its test.jsonl where it has one."""
    from hpsearch.data import DatasetConfig

    folder = SHARED / dataset
    files = {"train": str(folder / "train.jsonl")}
    if (folder / "test.jsonl").is_file():
        files["test"] = str(folder / "test.jsonl")
    return DatasetConfig.model_validate(files)


def _texts(dataset: str) -> list[str]:
    from hpsearch.data import read_splits

    raw = read_splits(dataset_config(dataset), SHARED, dataset)
    return [t for s in raw.splits.values() for t in s.texts]


def write_docs(rows: list[dict[str, Any]], args: argparse.Namespace, hardware: str) -> None:
    lines = [
        SECTION, "",
        f"Reproduce: `.venv/bin/python benchmarks/data_check.py --repeats {args.repeats}` ({hardware}; "
        f"{time.strftime('%Y-%m-%d')}).",
        "The whole data check (`hpsearch data check`, and the dataset card a new study records before its first "
        "trial) of each shared set (its train.jsonl, and test.jsonl where it has one), with presidio's phone recognizer run on every "
        "text or only on texts with a place a phone is kept (7 or more digits written with a plus sign, an area code "
        f"in brackets, or in groups joined by hyphens); alternating, {args.repeats} of each in one process, medians. Both ways gave the same "
        "report, personal data included, on every set.", "",
        "| dataset | texts | with such a place | check s, every text | check s, skipping | time | personal data found |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        found = ", ".join(f"{k} {v}" for k, v in r["pii"].items()) or "none"
        lines.append(f"| {r['dataset']} | {r['texts']:,} | {r['holding']:,} | {r['every']:.1f} | {r['skipping']:.1f} | "
                     f"{r['skipping'] / r['every']:.2f}× | {found} |")
    replace_section(DOCS, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
