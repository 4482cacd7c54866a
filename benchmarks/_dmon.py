"""`nvidia-smi dmon` output read by its header: the benchmarks that sample a GPU beside their work."""

from __future__ import annotations


def dmon_column(text: str, name: str) -> list[tuple[str | None, float]]:
    """(time, value) of each sample's column `name` (``sm``: GPU busy %, ``fb``: memory in use, MB),
    the time from the ``Time`` column (HH:MM:SS) where dmon was asked for it (``-o T``), else None.
    Samples without a number there (dmon prints ``-``) are left out."""
    header = next((line.lstrip("#").split() for line in text.splitlines()
                   if line.startswith("#") and name in line.lstrip("#").split()), None)
    if header is None:
        return []
    column, clock = header.index(name), header.index("Time") if "Time" in header else None
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(None if clock is None else r[clock], float(r[column])) for r in rows
            if len(r) > column and r[column].replace(".", "", 1).isdigit()]


def dmon_samples(text: str) -> list[tuple[str | None, int]]:
    """(time, GPU busy %) of each `nvidia-smi dmon -s u[m] [-o T]` sample (its ``sm`` column)."""
    return [(clock, int(busy)) for clock, busy in dmon_column(text, "sm")]


def dmon_busy(text: str) -> list[int]:
    """The GPU busy % of each `nvidia-smi dmon` sample."""
    return [busy for _, busy in dmon_samples(text)]
