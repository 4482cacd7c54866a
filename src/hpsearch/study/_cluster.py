"""The Ray cluster a study runs on: its live nodes, what one trial asks for, a request that no node
can hold (said at once, not waited on), and, inside a trial, the node it runs on.

What a trial asks for is one node's worth, never the cluster's sum: Ray places a trial on a single
node, so 2 nodes of 8 CPUs are not one trial of 16.
"""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass

from hpsearch.errors import Problem, UserError
from hpsearch.search import SearchConfig


@dataclass(frozen=True)
class Node:
    """A live Ray node and what it offers."""

    id: str
    ip: str
    cpus: float
    gpus: float

    def __str__(self) -> str:
        return f"{self.ip} {_count(self.cpus, 'CPU')} {_count(self.gpus, 'GPU')}"


@dataclass(frozen=True)
class TrialResources:
    """What one trial asks Ray for."""

    cpu: float
    gpu: float

    def __str__(self) -> str:
        return f"{_count(self.cpu, 'CPU')} and {_count(self.gpu, 'GPU')}"


def alive_nodes() -> list[Node]:
    """The cluster's live nodes, as Ray reports them (``ray.init`` first)."""
    import ray

    return [
        Node(n["NodeID"], n["NodeManagerAddress"], float(n["Resources"].get("CPU", 0)),
             float(n["Resources"].get("GPU", 0)))
        for n in ray.nodes() if n.get("Alive")
    ]


def node_cpus(node_id: str, nodes: list[Node] | None = None) -> int | None:
    """The CPUs Ray gives trials on the node `node_id`, of `nodes` (else of the live ones); None
    where Ray does not say."""
    return next((int(n.cpus) for n in (nodes if nodes is not None else alive_nodes()) if n.id == node_id), None)


def trial_resources(search: SearchConfig, nodes: list[Node]) -> TrialResources:
    """What one trial asks for: the preset's ``cpus_per_trial`` and ``gpus_per_trial`` where it sets
    them; by default one node's share, never the cluster's sum.

    A GPU trial (one GPU each where the nodes have GPUs and the preset asks for none) gets the CPUs
    that go with its GPUs on the leanest GPU node; a CPU trial gets the largest node's CPUs divided
    among the trials that run on each node at once (``max_concurrent_trials`` spread over the nodes).
    """
    gpu = search.gpus_per_trial
    if search.cpus_per_trial is not None:
        return TrialResources(search.cpus_per_trial, gpu)
    with_gpus = [n for n in nodes if n.gpus > 0]
    if gpu == 0 and with_gpus:
        gpu = 1.0
    holding = [n for n in with_gpus if n.gpus >= gpu] if gpu else []
    if holding:
        return TrialResources(float(max(1, min(math.floor(n.cpus * gpu / n.gpus) for n in holding))), gpu)
    with_cpus = [n for n in nodes if n.cpus >= 1]
    if not with_cpus:
        return TrialResources(1.0, gpu)
    per_node = math.ceil(search.max_concurrent_trials / len(with_cpus))
    return TrialResources(float(max(1, math.floor(max(n.cpus for n in with_cpus) / per_node))), gpu)


def check_placeable(resources: TrialResources, nodes: list[Node], source: str) -> None:
    """Raise UserError when no single node can hold one trial: Ray would wait for one in silence."""
    if any(n.cpus >= resources.cpu and n.gpus >= resources.gpu for n in nodes):
        return
    key = "gpus_per_trial" if any(n.cpus >= resources.cpu for n in nodes) else "cpus_per_trial"
    shown = ", ".join(map(str, nodes[:8])) + (f" and {len(nodes) - 8} more" if len(nodes) > 8 else "")
    raise UserError(Problem(source, key, f"a trial asks for {resources}; no node has that: {shown or 'no nodes'}"))


def where() -> dict[str, str]:
    """The node this process runs on (called inside a trial): Ray's node id, its IP, the host name."""
    import ray

    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "node_ip": ray.util.get_node_ip_address(),
        "hostname": socket.gethostname(),
    }


def _count(n: float, unit: str) -> str:
    return f"{n:g} {unit}" + ("" if n == 1 else "s")
