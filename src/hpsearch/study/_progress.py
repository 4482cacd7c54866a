"""What a person watching a run sees: a line per trial event, and a live status of the whole run
(trials done, in flight and failed, the best value of each objective so far, elapsed time and an
estimate of what is left). On a terminal the status stays at the bottom of the screen; in a log
or CI, where there is no terminal, it becomes a plain line after each finished trial.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable

from ray.tune import Callback

from hpsearch.study._trainable import ATTRS_KEY, ERROR_KEY

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live


class Progress(Callback):
    """Ray Tune callback: trial start, epochs and end as lines, and the run's status."""

    def __init__(self, console: "Console", total: int, names: list[str], directions: list[str],
                 concurrency: int = 1, done: int = 0, stopped: dict[str, str] | None = None,
                 study_number: Callable[[str], int | None] | None = None) -> None:
        self.console: Console | None = console
        self.total = total
        self.names = names
        self.maximize = [d == "maximize" for d in directions]
        self.concurrency = max(1, concurrency)
        self.done = done  # complete in the study before this driver started (other drivers', earlier runs)
        self.done_here = 0  # ... and by this driver: what the estimate of the time left is made from
        self.failed = 0
        self.pruned = 0
        #: why an early-stopping scheduler stopped a trial, by Ray trial id (the scheduler's own dict)
        self.stopped = stopped if stopped is not None else {}
        self.running: set[str] = set()
        self.best: dict[str, float] = {}
        self.numbers: dict[str, int] = {}
        #: The study's number of a Ray trial (the searcher's), the one pareto, report and the dashboard
        #: show; this driver's count alone would not match them (baselines and other drivers' trials).
        self.study_number = study_number
        self.study_numbers: dict[str, int] = {}
        self.started = time.monotonic()
        self._live: Live | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Ray pickles its callbacks with the experiment state; a console or live display is not picklable.
        return {**self.__dict__, "console": None, "_live": None, "study_number": None}

    # ------------------------------------------------------------------ the status

    def start(self) -> None:
        """Show the live status at the bottom of a terminal (nothing to start elsewhere)."""
        if self.console is not None and self.console.is_terminal and self._live is None:
            from rich.live import Live

            self._live = Live(self.status(), console=self.console, refresh_per_second=2, transient=True)
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            if self.console is not None:
                self.console.print(self.status())

    def status(self) -> str:
        """``3/10 done (1 failed), 1 in flight · best macro_f1 0.71, f1_gap 0.05 · 2m10s, ~5m left``."""
        elapsed = time.monotonic() - self.started
        notes = [f"{n} {what}" for n, what in ((self.failed, "failed"), (self.pruned, "pruned")) if n]
        parts = [f"{self.done}/{self.total} done" + (f" ({', '.join(notes)})" if notes else "")
                 + f", {len(self.running)} in flight"]
        if self.best:
            parts.append("best " + ", ".join(f"{n} {self.best[n]:.4g}" for n in self.names if n in self.best))
        left = self.total - self.done
        if self.done_here and left > 0:
            per_trial = elapsed / self.done_here  # trials in flight overlap: wall time per finished trial
            parts.append(f"{_duration(elapsed)} elapsed, ~{_duration(per_trial * left)} left")
        else:
            parts.append(f"{_duration(elapsed)} elapsed")
        return " · ".join(parts)

    def _update(self) -> None:
        if self._live is not None:
            self._live.update(self.status())
        elif self.console is not None:
            self.console.print(f"[bold]{self.status()}[/bold]")

    # ------------------------------------------------------------------ lines

    def _print(self, trial: Any, text: str) -> None:
        if self.console is None:
            return
        number = self._number(trial)
        elapsed = time.monotonic() - self.started
        of = f"/{self.total}" if number <= self.total else ""  # past the budget: '3/2' would read as a bug
        study = self.study_numbers.get(trial.trial_id)
        named = f" (study #{study})" if study is not None else ""
        self.console.print(f"[{elapsed:5.0f}s] trial {number:>3}{of}{named} {text}")

    def _number(self, trial: Any) -> int:
        return self.numbers.setdefault(trial.trial_id, len(self.numbers) + 1)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running.add(trial.trial_id)
        study = self.study_number(trial.trial_id) if self.study_number is not None else None
        if study is not None:
            self.study_numbers[trial.trial_id] = study
        params = ", ".join(f"{k}={_short(v)}" for k, v in sorted(trial.config.items()))
        extra = (f" (in place of a failed one: failed trials do not count towards the {self.total})"
                 if self._number(trial) > self.total else "")
        self._print(trial, f"[dim]started{extra}: {params}[/dim]")
        if self._live is not None:
            self._live.update(self.status())

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if "epoch" in result and "train_loss" in result:
            f1 = f", macro_f1 {result['macro_f1']:.3f}" if "macro_f1" in result else ""  # the last: with the result
            of = f"/{result['epochs']:.0f}" if "epochs" in result else ""
            self._print(trial, f"[dim]epoch {result['epoch']:.0f}{of}: loss {result['train_loss']:.3f}{f1}[/dim]"
                        + ("  [yellow]collapsed[/yellow]" if result.get("collapsed") else ""))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running.discard(trial.trial_id)
        result = trial.last_result or {}
        if ERROR_KEY in result:  # a failed trial does not count towards the study's trials: another runs
            self.failed += 1
            what = f"[red]failed[/red]: {result[ERROR_KEY]}"
            self._print(trial, f"done: {what}")
            self._update()
            return
        if not any(n in result for n in self.names) and trial.trial_id not in self.stopped:  # lost: no values
            self.failed += 1
            self._print(trial, "done: [red]lost[/red]: no result reported")
            self._update()
            return
        self.done += 1
        self.done_here += 1
        if trial.trial_id in self.stopped:
            self.pruned += 1
            what = f"[yellow]pruned[/yellow], {self.stopped[trial.trial_id]}"
        else:
            what = "  ".join(f"{n}={result[n]:.4g}" for n in self.names if n in result)
            attrs = _attrs(result)
            if attrs.get("collapsed"):
                what += f"  [yellow]stopped, {attrs['collapsed']}[/yellow]"
            elif attrs.get("learned") is False:
                what += "  [yellow]did not beat the trivial predictors[/yellow]"
            else:  # the best so far counts the trials that learned only
                self._record_best(result)
        self._print(trial, f"done: {what}")
        self._update()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.failed += 1
        self.running.discard(trial.trial_id)
        self._print(trial, "[red]crashed[/red]; see Ray's logs")
        self._update()

    def _record_best(self, result: dict) -> None:
        for name, up in zip(self.names, self.maximize):
            value = result.get(name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            if name not in self.best or (value > self.best[name] if up else value < self.best[name]):
                self.best[name] = float(value)


def _attrs(result: dict) -> dict[str, Any]:
    import json

    try:
        return dict(json.loads(result.get(ATTRS_KEY) or "{}"))
    except (TypeError, ValueError):
        return {}


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
