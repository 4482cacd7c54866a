"""What running a trial gives: its measurements, or why it could not run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Report = Callable[[dict[str, float]], None]


@dataclass
class TrialResult:
    """What a trial measured: numeric `metrics` (objectives among them) and other `attrs`."""

    metrics: dict[str, float]
    attrs: dict[str, Any] = field(default_factory=dict)
    #: (kind, gzip'd tar) of the trained adapter or head (``_artifact``), None where nothing is kept.
    artifact: tuple[str, bytes] | None = None


class TrialFailed(Exception):
    """A trial that cannot run as configured (the reason is recorded on the trial). `knobs`: the knob
    values that make any trial fail the same way here (the sampler then avoids them)."""

    def __init__(self, message: str, knobs: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.knobs = knobs or {}
