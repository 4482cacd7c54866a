"""The Ray Tune trainable: one trial on a worker, handed back to the driver as a result.

It knows the trial runner (``hpsearch.trial.Worker``) and Ray's reporting, never the study
database: the driver alone writes to it.
"""

from __future__ import annotations

import json
from typing import Any

from ray import tune

from hpsearch.plan import Plan

#: Result keys the trainable uses to hand over what the runner measured.
METRICS_KEY = "hpsearch_metrics"
ATTRS_KEY = "hpsearch_attrs"
ERROR_KEY = "hpsearch_error"

_WORKER: Any = None


def trainable(config: dict[str, Any], plan: Plan, threads: int) -> None:
    """Ray Tune function trainable: one trial on this worker's cached data and weights."""
    global _WORKER
    from hpsearch.trial import TrialFailed, Worker

    try:
        if _WORKER is None or _WORKER.plan != plan:
            _WORKER = Worker(plan, threads=threads)
        result = _WORKER.run(config, report=lambda row: tune.report(dict(row)))
    except TrialFailed as exc:
        tune.report({ERROR_KEY: str(exc)})
        return
    except Exception as exc:  # noqa: BLE001 - recorded on the trial, which is marked FAIL
        tune.report({ERROR_KEY: f"{type(exc).__name__}: {exc}"})
        return
    final = {k: v for k, v in result.metrics.items() if k in plan.objectives.names()}
    final[METRICS_KEY] = json.dumps(result.metrics)
    final[ATTRS_KEY] = json.dumps(result.attrs, default=str)
    tune.report(final)
