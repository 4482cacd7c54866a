"""A space's `model:`: a local folder is read from the space file's folder, as its data is, wherever
the command runs; a hub that cannot be reached is one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import pytest

from hpsearch.cli import main
from hpsearch.plan import load_plan

from ..conftest import toy_rows, write_jsonl
from ..fake_hub import FakeHub

SPACE = """name: s
model: MODEL
dataset: {path: DATA, group_columns: group}
params:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
fixed: {epochs: 1, max_length: 16}
"""


def _layout(tmp_path: Path, tiny_model_dir: Path, model: str) -> Path:
    """tmp/models/tiny, tmp/spaces/s.yaml naming it as `model`; returns the space."""
    shutil.copytree(tiny_model_dir, tmp_path / "models" / "tiny")
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))  # 20 validation rows: 2 groups of 10 for f1_gap
    (tmp_path / "spaces").mkdir()
    space = tmp_path / "spaces" / "s.yaml"
    space.write_text(SPACE.replace("MODEL", model).replace("DATA", str(data)), encoding="utf-8")
    return space


def test_a_relative_model_folder_is_read_from_the_space_file_s_folder(
        tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hpsearch.export._bundle import bundle_config
    from hpsearch.trial import check_model
    from hpsearch.trial._shipping import ship

    space = _layout(tmp_path, tiny_model_dir, "../models/tiny")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    plan = load_plan(space)
    resolved, model_type = check_model(plan.space.model, plan.path, plan.base_dir)  # what `run` checks first
    assert Path(resolved) == (tmp_path / "models" / "tiny").resolve() and model_type == "bert"
    assert ship(plan).model_files is not None  # its files travel to the workers
    assert main(["validate", str(space)]) == 0
    # an export bundle names the folder wherever the bundle goes, as it names the data
    study = optuna.create_study()
    study.set_user_attr("space", {"model": "../models/tiny", "dataset": {}})
    study.set_user_attr("space_dir", str(plan.base_dir))
    study.enqueue_trial({})
    trial = study.ask()
    trial.set_user_attr("model", "../models/tiny")
    study.tell(trial, 1.0)
    assert bundle_config(study, study.trials[0], {}, "best")["model"] == str((tmp_path / "models" / "tiny").resolve())


def test_a_folder_of_the_current_directory_named_from_the_wrong_place_says_where_it_looked(
        tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    space = _layout(tmp_path, tiny_model_dir, "models/tiny")  # from tmp/, not from tmp/spaces/
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(space)]) == 2
    assert main(["run", str(space), "--storage", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0] == lines[1]
    assert "model: model directory not found: models/tiny (looked for " in lines[0]
    assert "a relative path is read from the space file's folder; models/tiny is a folder of the current directory" in lines[0]
    assert not (tmp_path / "x.db").exists()


def test_a_hub_it_cannot_reach_is_one_line(tmp_path: Path) -> None:
    """`hpsearch run` on a hub id where the hub does not answer (the tests run offline: here the
    process is let online, at an endpoint where nothing listens): the hub's retries are not printed."""
    import os
    import subprocess
    import sys

    space = tmp_path / "s.yaml"
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))  # 20 validation rows: 2 groups of 10 for f1_gap
    space.write_text(SPACE.replace("MODEL", "hpsearch-tests/no-such-model").replace("DATA", str(data)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    done = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(space), "--storage",
                           f"sqlite:///{tmp_path / 'x.db'}"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {space}: model: cannot load 'hpsearch-tests/no-such-model': ")
    assert not (tmp_path / "x.db").exists()


def _cached(cache: Path, repo: str, tiny_model_dir: Path) -> Path:
    """`repo` in a Hugging Face cache at `cache`, laid out as huggingface_hub writes it; its snapshot."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(tiny_model_dir, root / "snapshots" / commit)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit, encoding="utf-8")
    return root / "snapshots" / commit


def _online(monkeypatch: pytest.MonkeyPatch, hub: FakeHub, cache: Path) -> None:
    """huggingface_hub online, talking to `hub` (as HF_ENDPOINT sets it when the hub is imported), with the
    local cache at `cache`."""
    from huggingface_hub import constants

    from hpsearch.space import _model

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    _model._hub_answers.cache_clear()


@pytest.fixture
def hub_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Online (HF_HUB_OFFLINE unset), with the hub at a port where nothing listens, and a cache of our own."""
    from huggingface_hub import constants

    from hpsearch.space import _model

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    _model._hub_answers.cache_clear()
    yield cache
    _model._hub_answers.cache_clear()


def test_a_cached_hub_model_loads_from_its_snapshot_where_the_hub_does_not_answer(
        hub_down: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    """Where the hub does not answer, `from_pretrained` on a hub id retries every file it looks for (a cached
    MiniLM's tokenizer took 93 s instead of 1.7 s offline): the id goes to its cached snapshot instead, a local
    folder that loads at once and travels to other nodes as one; uncached, it is one line."""
    from hpsearch.errors import UserError
    from hpsearch.space import resolve_model
    from hpsearch.trial import check_model
    from hpsearch.trial._shipping import ship

    snapshot = _cached(hub_down, "acme/tiny", tiny_model_dir)
    assert resolve_model("acme/tiny") == str(snapshot)
    resolved, model_type = check_model("acme/tiny", "s.yaml")
    assert resolved == str(snapshot) and model_type == "bert"
    # `hpsearch validate` does not ask the hub: the id stays as it is
    assert resolve_model("acme/tiny", hub=False) == "acme/tiny"
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))
    space = tmp_path / "s.yaml"
    space.write_text(SPACE.replace("MODEL", "acme/tiny").replace("DATA", str(data)), encoding="utf-8")
    plan = load_plan(space)
    assert plan.model_path() == str(snapshot) and ship(plan).model_files is not None
    with pytest.raises(UserError) as caught:
        resolve_model("acme/other", "s.yaml")
    assert str(caught.value.problems[0]) == (
        "s.yaml: model: cannot load 'acme/other': the hub at http://127.0.0.1:9 does not answer and 'acme/other' is "
        f"not in the local cache ({hub_down})")


def test_the_hub_is_asked_once_and_any_answer_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server
    import threading

    from huggingface_hub import constants

    from hpsearch.space import _model, resolve_model

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # 501 to all
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", endpoint)
        _model._hub_answers.cache_clear()
        assert _model._hub_answers(endpoint) and not _model._hub_answers("http://127.0.0.1:9")
        assert resolve_model("acme/tiny") == "acme/tiny"  # it answers: from_pretrained goes by the id
        server.shutdown()
        assert resolve_model("acme/tiny") == "acme/tiny"  # asked once per process
        assert _model._hub_answers.cache_info().hits >= 1
    finally:
        server.server_close()
        _model._hub_answers.cache_clear()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # offline: never asked, from_pretrained reads the cache
    monkeypatch.setattr(_model, "_hub_answers", lambda endpoint: pytest.fail("asked the hub offline"))
    assert resolve_model("acme/tiny") == "acme/tiny"


def test_a_pinned_revision_is_read_from_the_cache_and_anything_else_is_one_line(
        hub_down: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    """`model_revision` resolves to that commit's snapshot (not the one `main` points to), a branch name
    to its commit's; one the cache lacks, or a revision of something that is not a hub id, is one line
    at `model_revision`; `validate` (no hub, no cache) lets a hub id's revision through."""
    from hpsearch.errors import UserError
    from hpsearch.space import hub_commit, resolve_model

    main_snapshot = _cached(hub_down, "acme/tiny", tiny_model_dir)
    older = main_snapshot.parent / "fedcba9876543210fedcba9876543210fedcba98"
    shutil.copytree(tiny_model_dir, older)
    (main_snapshot.parent.parent / "refs" / "v1").write_text(older.name, encoding="utf-8")
    assert resolve_model("acme/tiny", revision=older.name) == str(older)
    assert resolve_model("acme/tiny", revision="v1") == str(older)
    assert resolve_model("acme/tiny", revision="main") == str(main_snapshot)
    assert hub_commit("acme/tiny", str(older)) == older.name
    assert hub_commit("acme/tiny", "acme/tiny") == main_snapshot.name  # by id: what the cache's main points to
    assert hub_commit("acme/other", "acme/other") is None and hub_commit("minilm", resolve_model("minilm")) is None
    assert hub_commit(str(tiny_model_dir), str(tiny_model_dir)) is None
    wrong = {"acme/tiny": ("nope", f"revision 'nope' of 'acme/tiny' is not in the local cache ({hub_down}); fetch it "
                                   "with: hf download acme/tiny --revision nope"),
             "minilm": ("v1", "'minilm' is not a hub id: only a hub id has revisions (leave model_revision out)")}
    for model, (revision, said) in wrong.items():
        with pytest.raises(UserError) as caught:
            resolve_model(model, "s.yaml", revision=revision)
        assert str(caught.value.problems[0]) == f"s.yaml: model_revision: {said}"
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))
    space = tmp_path / "s.yaml"
    space.write_text(SPACE.replace("MODEL", "acme/tiny").replace("DATA", str(data)) + "model_revision: nope\n",
                     encoding="utf-8")
    assert main(["validate", str(space)]) == 0
    space.write_text(SPACE.replace("MODEL", "minilm").replace("DATA", str(data)) + "model_revision: v1\n",
                     encoding="utf-8")
    assert main(["validate", str(space)]) == 2


def test_offline_every_node_loads_the_commit_the_driver_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              tiny_model_dir: Path) -> None:
    """Offline (HF_HUB_OFFLINE), a hub id goes to the workers by name and each node reads its own cache: a
    worker loads the commit the driver's cache held (what the study's trials record), not whatever its own
    cache's `main` points to; a node whose cache lacks that commit fails the trial in one line saying how
    to fetch it."""
    from huggingface_hub import constants

    from hpsearch.space import hub_commit
    from hpsearch.trial import TrialFailed
    from hpsearch.trial._shipping import ship, unpack

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    driver, node, bare = (tmp_path / name for name in ("driver-cache", "node-cache", "bare-cache"))
    commit = _cached(driver, "acme/tiny", tiny_model_dir).name
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))
    space = tmp_path / "s.yaml"
    space.write_text(SPACE.replace("MODEL", "acme/tiny").replace("DATA", str(data)), encoding="utf-8")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(driver))
    shipment = ship(load_plan(space))
    assert shipment.model_files is None and shipment.model_commit == commit  # by name, with the driver's commit
    for cache in (node, bare):  # a node whose main moved on, with the driver's commit too; one without it
        held = _cached(cache, "acme/tiny", tiny_model_dir)
        newer = held.parent / "fedcba9876543210fedcba9876543210fedcba98"
        if cache == bare:
            held.rename(newer)
        else:
            shutil.copytree(tiny_model_dir, newer)
        (held.parent.parent / "refs" / "main").write_text(newer.name, encoding="utf-8")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(node))
    _, model_path = unpack(shipment, shipment.content_fingerprint)
    assert Path(model_path) == node / "models--acme--tiny" / "snapshots" / commit
    assert hub_commit("acme/tiny", model_path) == commit  # what the worker records
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(bare))
    with pytest.raises(TrialFailed) as caught:
        unpack(shipment, shipment.content_fingerprint)
    said = str(caught.value)
    assert "\n" not in said and f"'acme/tiny' at commit {commit}" in said
    assert said.endswith(f"fetch it with: hf download acme/tiny --revision {commit}")


def test_online_every_node_loads_the_commit_the_driver_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             tiny_model_dir: Path) -> None:
    """With a hub that answers, a hub id still goes to the workers by name, and each worker loads the
    commit the driver found even after the hub's `main` has moved on: a node without it fetches that
    commit (only what from_pretrained reads), a node that holds it asks the hub nothing, and a commit
    the hub no longer has, or a hub that stops answering, fails the trial in one line."""
    import json

    from huggingface_hub import constants
    from transformers import AutoConfig

    from hpsearch.space import _model, hub_commit
    from hpsearch.trial import TrialFailed
    from hpsearch.trial._shipping import ship, unpack

    hub = FakeHub()
    driver, node, bare = (tmp_path / name for name in ("driver-cache", "node-cache", "bare-cache"))
    commit = _cached(driver, "acme/tiny", tiny_model_dir).name
    newer = "fedcba9876543210fedcba9876543210fedcba98"
    moved = tmp_path / "moved"
    shutil.copytree(tiny_model_dir, moved)
    config = json.loads((moved / "config.json").read_text(encoding="utf-8"))
    (moved / "config.json").write_text(json.dumps({**config, "hidden_dropout_prob": 0.33}), encoding="utf-8")
    published = tmp_path / "published"  # the driver's commit on the hub, with files from_pretrained does not read
    shutil.copytree(tiny_model_dir, published)
    (published / "pytorch_model.bin").write_bytes(b"the same weights, another format")
    (published / "flax_model.msgpack").write_bytes(b"")
    (published / "chat_template.jinja").write_text("{{ messages }}", encoding="utf-8")  # read by a tokenizer
    hub.commits.update({("acme/tiny", commit): published, ("acme/tiny", newer): moved})
    hub.main["acme/tiny"] = commit
    _online(monkeypatch, hub, driver)
    try:
        data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))
        space = tmp_path / "s.yaml"
        space.write_text(SPACE.replace("MODEL", "acme/tiny").replace("DATA", str(data)), encoding="utf-8")
        shipment = ship(load_plan(space))
        assert shipment.model_files is None and shipment.model_commit == commit  # by name, the driver's commit
        hub.main["acme/tiny"] = newer  # the hub's main moves on while the study runs

        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(node))  # a node that never held the model
        asked = len(hub.requests)
        _, model_path = unpack(shipment, shipment.content_fingerprint)
        assert Path(model_path) == node / "models--acme--tiny" / "snapshots" / commit
        assert hub_commit("acme/tiny", model_path) == commit  # what the worker records
        assert AutoConfig.from_pretrained(model_path).hidden_dropout_prob != 0.33  # the driver's weights, not main's
        fetched = [r for r in hub.requests[asked:] if "acme/tiny" in r]  # (the library asks the hub other things)
        assert fetched and all(commit in r for r in fetched) and not any("main" in r or newer in r for r in fetched)
        read = {p.name for p in published.iterdir() if p.suffix in (".json", ".txt", ".safetensors", ".jinja")}
        assert {p.name for p in Path(model_path).iterdir()} == read  # not the .bin, not flax's weights

        asked = len(hub.requests)  # the same node again, or one whose cache holds the commit: no request
        assert unpack(shipment, shipment.content_fingerprint)[1] == model_path
        assert not [r for r in hub.requests[asked:] if "acme/tiny" in r]

        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(bare))
        del hub.commits[("acme/tiny", commit)]  # the commit is gone from the hub (a force-push, say)
        with pytest.raises(TrialFailed) as caught:
            unpack(shipment, shipment.content_fingerprint)
        said = str(caught.value)
        assert "\n" not in said and f"cannot load 'acme/tiny' at commit {commit}" in said
        assert "fetching it failed" in said
        hub.server.shutdown()  # the hub stops answering: at once, one line
        monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
        with pytest.raises(TrialFailed) as caught:
            unpack(shipment, shipment.content_fingerprint)
        assert "\n" not in str(caught.value) and "http://127.0.0.1:9 does not answer" in str(caught.value)
    finally:
        hub.server.server_close()
        _model._hub_answers.cache_clear()


def test_every_run_of_a_study_loads_the_commit_its_first_run_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    tiny_model_dir: Path) -> None:
    """A second driver on a study (another machine, or the same one after its cache's `main` moved on)
    loads the hub commit the study's trials load, not its own `main`: from the local cache, fetched from
    the hub where it answers, else one line at the space's `model` naming how to fetch it."""
    from huggingface_hub import constants

    from hpsearch.errors import UserError
    from hpsearch.space import _model
    from hpsearch.study._join import MODEL_COMMIT_ATTR, join_study, pinned_to_study, recorded_commit
    from hpsearch.trial._shipping import ship

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cache, bare = tmp_path / "cache", tmp_path / "bare"
    first = _cached(cache, "acme/tiny", tiny_model_dir)
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))
    space = tmp_path / "s.yaml"
    space.write_text(SPACE.replace("MODEL", "acme/tiny").replace("DATA", str(data)), encoding="utf-8")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    plan = load_plan(space)
    study = join_study(url, "s", plan, plan.splits(), [])
    assert study.user_attrs[MODEL_COMMIT_ATTR] == first.name and pinned_to_study(plan, study) is None

    later = first.parent / "fedcba9876543210fedcba9876543210fedcba98"  # main moves on in this cache
    shutil.copytree(tiny_model_dir, later)
    (first.parent.parent / "refs" / "main").write_text(later.name, encoding="utf-8")
    plan = load_plan(space)
    study = join_study(url, "s", plan, plan.splits(), [])  # the same search: it joins
    pinned, found = pinned_to_study(plan, study)
    assert found == later.name and pinned.space.model_revision == first.name
    shipment = ship(pinned)
    assert shipment.model_commit == first.name and shipment.model_files is not None  # the study's files, sent
    unrecorded = optuna.create_study()  # a study that recorded no commit: it records the one found here
    assert pinned_to_study(load_plan(space), unrecorded) is None
    assert unrecorded.user_attrs[MODEL_COMMIT_ATTR] == later.name

    old = optuna.create_study(study_name="old", storage=url)  # a study an earlier hpsearch began: its trials say
    old.add_trial(optuna.trial.create_trial(values=[1.0], user_attrs={"model_revision": first.name}))
    assert recorded_commit(old) == first.name

    _cached(bare, "acme/tiny", tiny_model_dir).rename(bare / "models--acme--tiny" / "snapshots" / later.name)
    (bare / "models--acme--tiny" / "refs" / "main").write_text(later.name, encoding="utf-8")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(bare))  # a machine that never held the study's commit
    with pytest.raises(UserError) as caught:
        pinned_to_study(load_plan(space), study)
    said = str(caught.value)
    assert "\n" not in said and said.startswith(f"{space}: model: study 's' trains 'acme/tiny' at commit {first.name}")
    assert said.endswith(f"fetch it with: hf download acme/tiny --revision {first.name}")

    hub = FakeHub()  # online, the hub has it: fetched into this machine's cache
    hub.commits[("acme/tiny", first.name)] = tiny_model_dir
    _online(monkeypatch, hub, bare)
    try:
        pinned, found = pinned_to_study(load_plan(space), study)
        assert found == later.name and pinned.space.model_revision == first.name
        assert (bare / "models--acme--tiny" / "snapshots" / first.name / "model.safetensors").is_file()
    finally:
        hub.server.shutdown()
        hub.server.server_close()
        _model._hub_answers.cache_clear()


def test_run_fetches_a_pinned_revision_the_cache_lacks_and_dry_run_and_validate_ask_the_hub_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A space's `model_revision` (a commit, branch or tag) that the local cache lacks is fetched from a hub
    that answers when `hpsearch run` checks the model (``check_model(fetch=True)``), at the commit it
    names, whatever `main` is; later lookups read the cache. `--dry-run` and `validate` ask the hub
    nothing; a revision the hub lacks, or one asked for offline, is one line at `model_revision`."""
    from huggingface_hub import constants

    from hpsearch.errors import UserError
    from hpsearch.space import _model, hub_commit, resolve_model
    from hpsearch.trial import check_model

    commit, tagged, main_now = ("0123456789abcdef0123456789abcdef01234567", "fedcba9876543210fedcba9876543210fedcba98",
                                "89abcdef0123456789abcdef0123456789abcdef")
    hub = FakeHub()
    hub.commits.update({("acme/tiny", c): tiny_model_dir for c in (commit, tagged, main_now)})
    hub.main["acme/tiny"], hub.tags[("acme/tiny", "v1")] = main_now, tagged
    cache = tmp_path / "cache"
    _online(monkeypatch, hub, cache)
    try:
        data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))
        space = tmp_path / "s.yaml"
        pinned = SPACE.replace("MODEL", "acme/tiny").replace("DATA", str(data)) + f"model_revision: {commit}\n"
        space.write_text(pinned, encoding="utf-8")
        assert main(["validate", str(space)]) == 0 and main(["run", str(space), "--dry-run"]) == 0
        layered = tmp_path / "layered.yaml"  # a dry run checks lora_layers against the model where it is cached
        layered.write_text(pinned.replace("max_length: 16}", "max_length: 16, lora_layers: 2}"), encoding="utf-8")
        capsys.readouterr()
        assert main(["run", str(layered), "--dry-run"]) == 0
        assert "lora_layers not checked against the model's layers: revision" in capsys.readouterr().out
        with pytest.raises(UserError) as caught:  # the lookups after the check read the cache only
            load_plan(space).model_path()
        assert str(caught.value).startswith(f"{space}: model_revision: revision '{commit}' of 'acme/tiny' is not in")
        assert not [r for r in hub.requests if "acme/tiny" in r], hub.requests
        assert not cache.exists() or not any(cache.iterdir())

        resolved, _ = check_model("acme/tiny", str(space), revision=commit, fetch=True)
        assert Path(resolved) == cache / "models--acme--tiny" / "snapshots" / commit
        assert load_plan(space).model_path() == resolved and hub_commit("acme/tiny", resolved) == commit
        fetched = [r for r in hub.requests if "/resolve/" in r]
        assert fetched and all(f"/resolve/{commit}/" in r for r in fetched)

        asked = len(hub.requests)  # a tag: the commit it names, and the cache keeps the name
        resolved = resolve_model("acme/tiny", revision="v1", fetch=True)
        assert Path(resolved).name == tagged and resolve_model("acme/tiny", revision="v1") == resolved
        assert hub.requests[asked:] and not [r for r in hub.requests[asked:] if main_now in r or "/main/" in r]

        for revision in ("nope", "v2"):  # the hub has no such revision: one line, how to fetch it
            with pytest.raises(UserError) as caught:
                resolve_model("acme/tiny", str(space), revision=revision, fetch=True)
            said = str(caught.value)
            assert "\n" not in said and said.startswith(
                f"{space}: model_revision: revision '{revision}' of 'acme/tiny' is not in the local cache")
            assert "fetching it failed" in said and said.endswith(f"hf download acme/tiny --revision {revision}")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # offline: the cache only, and says so
        with pytest.raises(UserError) as caught:
            resolve_model("acme/tiny", str(space), revision=main_now, fetch=True)
        assert "fetching" not in str(caught.value) and str(caught.value).endswith(
            f"fetch it with: hf download acme/tiny --revision {main_now}")
    finally:
        hub.server.shutdown()
        hub.server.server_close()
        _model._hub_answers.cache_clear()
