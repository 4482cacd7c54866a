"""The Ray Tune trainable: one trial on a worker, handed back to the driver as a result.

It knows the trial runner (``hpsearch.trial.Worker``) and Ray's reporting, never the study
database: the driver alone writes to it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ray import tune

from hpsearch.plan import Plan

if TYPE_CHECKING:
    from hpsearch.trial import NodeTimings, Shipment

#: Result keys the trainable uses to hand over what the runner measured.
METRICS_KEY = "hpsearch_metrics"
ATTRS_KEY = "hpsearch_attrs"
ERROR_KEY = "hpsearch_error"
#: The trained adapter or head, base64 of a gzip'd tar, and its kind (``trial._artifact``).
ARTIFACT_KEY = "hpsearch_artifact"
ARTIFACT_KIND_KEY = "hpsearch_artifact_kind"

#: This worker process's runner, kept across trials (``reuse_actors``), and what it was built from.
_WORKER: Any = None
_BUILT_FROM: tuple[Plan, str | None] | None = None


def trainable(config: dict[str, Any], plan: Plan, threads: int, shipment: Shipment | None = None,
              fingerprint: str | None = None, objectives_each_epoch: bool = False, grow_threads: bool = False,
              run: str | None = None, budget_first: bool = False) -> None:
    """Ray Tune function trainable: one trial on this worker's cached data and weights.

    `shipment` is the data and the model as the driver sent them (any node can run the trial);
    `fingerprint` is the study's, which the data must match. Each result records the node it ran on.
    With `objectives_each_epoch` (an early-stopping scheduler) every per-epoch report carries the
    study's objectives; with `budget_first` (a rule that stops trials breaking a constraint on what
    training does not change) the deployed model's measurement is reported first, as epoch 0. With
    `grow_threads` a trial's torch threads go from `threads` up to its node's CPUs (as Ray counts them)
    while fewer trials run there. `run` (the driver's id): the trials of one run share their latency
    timings on a node (``trial._serving.NodeTimings``).
    """
    global _WORKER, _BUILT_FROM
    from hpsearch.study._cluster import where
    from hpsearch.trial import TrialFailed, Worker, unpack

    node = where()
    try:
        if _WORKER is None or _BUILT_FROM != (plan, fingerprint):
            _WORKER = _BUILT_FROM = None
            splits, model_path = None, None
            if shipment is not None:
                splits, model_path = unpack(shipment, fingerprint or shipment.content_fingerprint)
            from hpsearch.study._cluster import node_cpus

            _WORKER = Worker(plan, threads=threads, splits=splits, model_path=model_path,
                             node_threads=node_cpus(node["node_id"]) if grow_threads else None,
                             # files sent are the driver's commit; a model by name, the snapshot unpack found
                             model_commit=shipment.model_commit if shipment and shipment.model_files else None)
            _BUILT_FROM = (plan, fingerprint)
        _WORKER.node_timings = _node_timings(run)
        result = _WORKER.run(config, report=lambda row: tune.report(dict(row)),
                             objectives_each_epoch=objectives_each_epoch, budget_first=budget_first)
    except TrialFailed as exc:  # knobs that fail here whatever else the trial does: the sampler avoids them
        attrs = {"node": node, **({"fail_knobs": exc.knobs} if exc.knobs else {})}
        tune.report({ERROR_KEY: str(exc), ATTRS_KEY: json.dumps(attrs)})
        return
    except Exception as exc:  # noqa: BLE001 - recorded on the trial, which is marked FAIL
        tune.report({ERROR_KEY: f"{type(exc).__name__}: {exc}", ATTRS_KEY: json.dumps({"node": node})})
        return
    result.attrs["node"] = node
    final = {k: v for k, v in result.metrics.items() if k in plan.objectives.names()}
    final[METRICS_KEY] = json.dumps(result.metrics)
    final[ATTRS_KEY] = json.dumps(result.attrs, default=str)
    if result.artifact is not None:
        import base64

        final[ARTIFACT_KIND_KEY], data = result.artifact
        final[ARTIFACT_KEY] = base64.b64encode(data).decode("ascii")
    tune.report(final)


def _node_timings(run: str | None) -> "NodeTimings | None":
    """The node's timings of this run (None: none, or a directory this user cannot make)."""
    from hpsearch.trial import NodeTimings

    try:
        return NodeTimings(run) if run else None
    except OSError:
        return None
