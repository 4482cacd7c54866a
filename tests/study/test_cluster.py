"""What a trial asks a Ray cluster for, and what its worker receives, without starting Ray."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from hpsearch.errors import UserError
from hpsearch.plan import load_plan
from hpsearch.search import SearchConfig
from hpsearch.study._cluster import Node, TrialResources, check_placeable, trial_resources
from hpsearch.trial import TrialFailed, content_fingerprint, ship, unpack
from hpsearch.trial import _shipping


def _nodes(*sizes: tuple[float, float]) -> list[Node]:
    return [Node(f"id{i}", f"10.0.0.{i}", cpus, gpus) for i, (cpus, gpus) in enumerate(sizes, 1)]


@pytest.mark.parametrize(
    "preset, nodes, expected",
    [
        ({"max_concurrent_trials": 2}, [(1, 0), (1, 0)], (1, 0)),  # two 1-CPU nodes, one trial on each
        ({"max_concurrent_trials": 1}, [(2, 0)], (2, 0)),  # one node, one trial at a time: all its CPUs
        ({"max_concurrent_trials": 4}, [(8, 0), (8, 0)], (4, 0)),  # never the cluster's 16 / 4
        ({"max_concurrent_trials": 8}, [(2, 0)], (1, 0)),  # at least one CPU
        ({"max_concurrent_trials": 2}, [(0, 0), (8, 0), (8, 0)], (8, 0)),  # a head without CPUs runs none
        ({"max_concurrent_trials": 1}, [(16, 4)], (4, 1)),  # one GPU per trial, with its share of CPUs
        ({"max_concurrent_trials": 1}, [(2, 0), (16, 4), (8, 4)], (2, 1)),  # fits every GPU node
        ({"gpus_per_trial": 2}, [(16, 4)], (8, 2)),
        ({"cpus_per_trial": 3, "gpus_per_trial": 0.5}, [(1, 0)], (3, 0.5)),  # the preset's own, as given
    ],
)
def test_trial_resources(preset: dict, nodes: list[tuple[float, float]], expected: tuple[float, float]) -> None:
    assert trial_resources(SearchConfig(**preset), _nodes(*nodes)) == TrialResources(*expected)


def test_a_trial_no_node_can_hold_is_said_at_once() -> None:
    nodes = _nodes((1, 0), (1, 0))
    check_placeable(TrialResources(1, 0), nodes, "search/two.yaml")
    with pytest.raises(UserError) as caught:
        check_placeable(TrialResources(2, 0), nodes, "search/two.yaml")
    assert str(caught.value) == ("search/two.yaml: cpus_per_trial: a trial asks for 2 CPUs and 0 GPUs; no node has "
                                 "that: 10.0.0.1 1 CPU 0 GPUs, 10.0.0.2 1 CPU 0 GPUs")
    with pytest.raises(UserError, match=r"gpus_per_trial: a trial asks for 1 CPU and 1 GPU; .*10.0.0.1 8 CPUs 0 GPUs"):
        check_placeable(TrialResources(1, 1), _nodes((8, 0)), "search/gpu.yaml")


def test_content_fingerprint_follows_the_data_not_the_files(toy_space: Path) -> None:
    splits = load_plan(toy_space).splits()
    same = copy.deepcopy(splits)
    same.fingerprint = "elsewhere"  # the file-based fingerprint is not what a worker checks
    assert content_fingerprint(same) == content_fingerprint(splits)
    changed = copy.deepcopy(splits)
    changed.train.texts[0] += "!"
    assert content_fingerprint(changed) != content_fingerprint(splits)
    regrouped = copy.deepcopy(splits)
    regrouped.validation.groups["group"][0] = "z"
    assert content_fingerprint(regrouped) != content_fingerprint(splits)


def test_a_worker_that_sees_other_data_fails_the_trial(toy_space: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_shipping, "MODEL_CACHE", tmp_path / "cache")
    shipment = ship(load_plan(toy_space))
    shipment.splits.validation.labels[0] = (shipment.splits.validation.labels[0] + 1) % 3
    with pytest.raises(TrialFailed, match=r"^the worker on .+ sees different data than the study \(fingerprint "
                                          rf"\w+, study has {shipment.content_fingerprint}\)$"):
        unpack(shipment, shipment.content_fingerprint)


def test_a_local_model_directory_travels_as_its_files(toy_space: Path, tiny_model_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setattr(_shipping, "MODEL_CACHE", cache)
    shipment = ship(load_plan(toy_space))
    assert shipment.model_files is not None and "config.json" in shipment.model_files
    assert "MB)" in shipment.describe()
    splits, model_path = unpack(shipment, shipment.content_fingerprint)
    assert content_fingerprint(splits) == shipment.content_fingerprint
    assert Path(model_path).parent == cache and Path(model_path) != tiny_model_dir
    for name in shipment.model_files:
        assert (Path(model_path) / name).read_bytes() == (tiny_model_dir / name).read_bytes()
    assert unpack(shipment, shipment.content_fingerprint)[1] == model_path  # written once per node
    assert [p.name for p in cache.iterdir()] == [Path(model_path).name]  # no scratch folder left behind

    from hpsearch.trial import load_base

    tokenizer, model = load_base(model_path, len(splits.label_names))
    assert model.config.num_labels == 3 and tokenizer("a text")["input_ids"]


def test_the_packaged_model_travels_by_name(toy_space: Path) -> None:
    toy_space.write_text(
        "\n".join("model: minilm" if line.startswith("model:") else line
                  for line in toy_space.read_text(encoding="utf-8").splitlines()),
        encoding="utf-8",
    )
    shipment = ship(load_plan(toy_space))
    assert shipment.model_ref == "minilm" and shipment.model_files is None
    from hpsearch.space import resolve_model

    assert unpack(shipment, shipment.content_fingerprint)[1] == resolve_model("minilm")
