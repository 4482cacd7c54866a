"""The training loop's parts: long texts read in pieces, class weights, balanced batches, and a
collapsed trial stopped after its epoch (tiny random BERT; seconds)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from hpsearch.objectives import collapse_reason
from hpsearch.trial import Worker
from hpsearch.trial._reading import Frame, Reading, flatten
from hpsearch.trial._training import class_weights, epoch_length, epoch_order, length_batches

FRAME = Frame([101], [102])  # [CLS] … [SEP]
TEXT = list(range(1, 21))  # 20 tokens


def test_head_keeps_the_first_tokens_within_max_length() -> None:
    assert Reading("head", 8).pieces(TEXT, FRAME) == [[101, 1, 2, 3, 4, 5, 6, 102]]
    assert Reading("head", 64).pieces(TEXT, FRAME) == [[101, *TEXT, 102]]  # fits: read whole


def test_head_tail_keeps_both_ends() -> None:
    (piece,) = Reading("head_tail", 9).pieces(TEXT, FRAME)
    assert piece == [101, 1, 2, 3, 4, 18, 19, 20, 102]  # 7 tokens of budget: the first 4, the last 3
    assert len(piece) == 9


def test_chunks_cover_the_text_up_to_max_chunks() -> None:
    pieces = Reading("chunk_mean", 8, max_chunks=3).pieces(TEXT, FRAME)
    assert pieces == [[101, *TEXT[0:6], 102], [101, *TEXT[6:12], 102], [101, *TEXT[12:18], 102]]
    assert len(Reading("chunk_max", 8, max_chunks=10).pieces(TEXT, FRAME)) == 4  # 20 tokens / 6 per window


def test_max_length_must_leave_room_for_text() -> None:
    with pytest.raises(ValueError, match="special tokens"):
        Reading("head", 2).pieces(TEXT, FRAME)


def test_pooling_averages_or_takes_the_max_of_a_texts_pieces() -> None:
    texts = [[[1], [2], [3]], [[4]]]
    pieces, owners = flatten(texts)
    assert owners == [0, 0, 0, 1] and len(pieces) == 4
    logits = torch.tensor([[1.0, 0.0], [3.0, -2.0], [2.0, 5.0], [7.0, 7.0]])
    mean = Reading("chunk_mean", 8, 3).pool(logits, torch.tensor(owners), 2)
    assert mean.tolist() == [[2.0, 1.0], [7.0, 7.0]]
    top = Reading("chunk_max", 8, 3).pool(logits, torch.tensor(owners), 2)
    assert top.tolist() == [[3.0, 5.0], [7.0, 7.0]]


def test_frame_is_found_from_the_tokenizer(worker: Worker) -> None:
    cls, sep = worker.tokenizer.cls_token_id, worker.tokenizer.sep_token_id
    assert (worker.frame.prefix, worker.frame.suffix) == ([cls], [sep])
    (pieces,) = Reading("chunk_mean", 6, 8).encode(["crash error broken fails item twelve"], worker.tokenizer)
    assert all(p[0] == cls and p[-1] == sep and len(p) <= 6 for p in pieces) and len(pieces) >= 2


def test_class_weights_balanced_and_sqrt() -> None:
    labels = [0] * 8 + [1] * 2
    assert class_weights(labels, 2, "none") is None
    assert class_weights(labels, 2, "balanced") == pytest.approx([10 / 16, 10 / 4])
    assert class_weights(labels, 2, "sqrt") == pytest.approx([(10 / 16) ** 0.5, (10 / 4) ** 0.5])


def test_balanced_sampling_draws_every_class_about_equally() -> None:
    labels = [0] * 900 + [1] * 90 + [2] * 10
    generator = torch.Generator().manual_seed(0)
    assert sorted(epoch_order(labels, "none", generator)) == list(range(1000))
    drawn = Counter(labels[i] for i in epoch_order(labels, "balanced", generator))
    assert sum(drawn.values()) == 1000
    assert all(250 < drawn[c] < 420 for c in range(3)), drawn


def test_undersampling_cuts_every_class_to_the_rarest_and_draws_afresh_each_epoch() -> None:
    labels = [0] * 900 + [1] * 90 + [2] * 10
    generator = torch.Generator().manual_seed(0)
    first = epoch_order(labels, "undersample", generator)
    second = epoch_order(labels, "undersample", generator)
    assert Counter(labels[i] for i in first) == {0: 10, 1: 10, 2: 10}
    assert len(set(first)) == 30 == epoch_length(labels, "undersample")
    assert sorted(i for i in first if labels[i] == 2) == list(range(990, 1000))  # the rarest class, whole
    assert set(first) != set(second)  # the common classes are drawn again
    assert epoch_length(labels, "balanced") == 1000


def test_collapse_reason_names_a_single_class_and_a_score_near_the_trivial_one() -> None:
    names = ["fair", "ltd", "ter"]
    assert collapse_reason([0, 0, 0], 0.25, 0.25, names, 0, 0.02) == "predicts only 'fair', the majority class"
    assert collapse_reason([2, 2], 0.1, 0.25, names, 0, 0.02) == "predicts only 'ter'"
    assert "within 0.02" in collapse_reason([0, 1, 2], 0.26, 0.25, names, 0, 0.02)
    assert collapse_reason([0, 1, 2], 0.40, 0.25, names, 0, 0.02) is None


# ---------------------------------------------------------------- on a real (tiny) model


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Worker:
    from hpsearch.objectives import MeasurementSlot
    from hpsearch.plan import load_plan

    from ..conftest import toy_rows, write_jsonl

    tmp = tmp_path_factory.mktemp("training")
    rows = toy_rows(120)
    for i, row in enumerate(rows):  # some long texts
        if i % 3 == 0:
            row["text"] = " ".join([row["text"]] * 12)
    data = write_jsonl(tmp / "toy.jsonl", rows)
    space = tmp / "space.yaml"
    space.write_text(f"name: t\nmodel: {tiny_model_dir}\ndataset: {{path: {data}, group_columns: group}}\n")
    w = Worker(load_plan(space), threads=1)
    w.slot = MeasurementSlot(str(tmp / "locks"))
    w.plan.objectives.latency.warmup, w.plan.objectives.latency.requests = 1, 5
    return w


BASE = {"learning_rate": 5e-3, "batch_size": 16, "max_length": 16}


def test_a_collapsed_trial_stops_after_patience_epochs_and_says_why(worker: Worker) -> None:
    collapse = worker.plan.objectives.collapse
    old = collapse.patience, collapse.margin
    try:
        collapse.patience, collapse.margin = 2, 1.0  # every epoch counts as collapsed: stop after the 2nd
        result = worker.run({**BASE, "epochs": 5})
    finally:
        collapse.patience, collapse.margin = old
    history = result.attrs["history"]
    assert [h["epoch"] for h in history] == [1.0, 2.0] and all(h["collapsed"] == 1.0 for h in history)
    assert result.attrs["stopped_after_epoch"] == 2
    assert result.attrs["collapsed"].startswith("collapsed after epoch 2: ")
    assert "macro_f1" in result.metrics and "latency_p50_ms" in result.metrics  # still evaluated and measured


def test_patience_zero_never_stops(worker: Worker) -> None:
    collapse = worker.plan.objectives.collapse
    old = collapse.patience, collapse.margin
    try:
        collapse.patience, collapse.margin = 0, 1.0
        result = worker.run({**BASE, "epochs": 2})
    finally:
        collapse.patience, collapse.margin = old
    assert len(result.attrs["history"]) == 2 and "collapsed" not in result.attrs


@pytest.mark.parametrize("long_text", ["head_tail", "chunk_mean", "chunk_max"])
def test_long_text_readings_train_evaluate_and_serve(worker: Worker, long_text: str) -> None:
    worker.plan.objectives.collapse.patience = 0
    result = worker.run({**BASE, "epochs": 1, "long_text": long_text, "max_chunks": 3})
    assert 0.0 <= result.metrics["macro_f1"] <= 1.0 and result.metrics["latency_p50_ms"] > 0
    from hpsearch.trial._reading import Reading as R

    pieces = worker.read("validation", worker.splits.validation, R(long_text, 16, 3))
    counts = Counter(len(p) for p in pieces)
    assert max(counts) == (3 if long_text != "head_tail" else 1)  # long texts are read in up to 3 windows


def test_served_predictions_match_the_evaluated_ones_for_chunked_reading(worker: Worker) -> None:
    from hpsearch.space import TrialConfig

    config = TrialConfig.from_values({**BASE, "long_text": "chunk_mean", "max_chunks": 3})
    model = worker.build_model(config).eval()
    reading = Reading.of(config)
    evaluated = worker.predict(model, "validation", worker.splits.validation, reading)
    _, serve = worker.request_calls(lambda batch: model(**batch).logits, reading, lambda out: out.argmax(-1).tolist())
    assert serve(worker.splits.validation.texts) == evaluated


def test_mean_pooling_reads_the_masked_mean_of_the_token_states(worker: Worker) -> None:
    """pooling=mean: the head reads the mean of the unpadded token states, so padding a text
    changes nothing; the model's own pooler (cls) is gone from the trial's model."""
    from hpsearch.space import TrialConfig

    model = worker.build_model(TrialConfig.from_values({**BASE, "pooling": "mean"})).eval()
    alone = worker.tokenizer(["crash error"], return_tensors="pt")
    padded = worker.tokenizer(["crash error", "crash error broken fails item twelve more words"], padding=True,
                              return_tensors="pt")
    with torch.inference_mode():
        a, b = model(**alone).logits[0], model(**padded).logits[0]
        hidden = model.base_model.model.bert(**alone).last_hidden_state
    assert torch.allclose(a, b, atol=1e-5)
    head = model.base_model.model.classifier.modules_to_save["default"]
    assert torch.allclose(a, head(hidden.mean(1))[0], atol=1e-5)
    result = worker.run({**BASE, "epochs": 1, "pooling": "mean"})
    assert 0.0 <= result.metrics["macro_f1"] <= 1.0


def test_mean_pooling_needs_a_pooler() -> None:
    from hpsearch.trial._models import use_mean_pooling

    with pytest.raises(ValueError, match="needs a BERT-style model with a pooler"):
        use_mean_pooling(torch.nn.Linear(2, 2))


def test_length_batches_visit_the_order_once_in_as_many_batches_of_similar_length() -> None:
    lengths = [(i * 37) % 101 for i in range(250)]
    order = torch.randperm(250, generator=torch.Generator().manual_seed(0)).tolist()
    batches = length_batches(order, lengths, 16, torch.Generator().manual_seed(1), window_batches=4)
    assert sorted(i for b in batches for i in b) == sorted(order) and len(batches) == -(-250 // 16)
    windows = [sorted(order[s:s + 64], key=lambda i: lengths[i]) for s in range(0, 250, 64)]
    expected = sorted(tuple(w[i:i + 16]) for w in windows for i in range(0, len(w), 16))
    assert sorted(map(tuple, batches)) == expected  # each batch: neighbours in length within its window


def test_evaluation_in_length_sorted_batches_returns_the_splits_order(worker: Worker) -> None:
    from hpsearch.space import TrialConfig

    config = TrialConfig.from_values(BASE)
    model = worker.build_model(config).eval()
    reading = Reading.of(config)
    split = worker.splits.validation
    batched, probs = worker.predict_proba(model, "validation", split, reading, batch_size=7)
    one_by_one = worker.predict_proba(model, "validation", split, reading, batch_size=1)
    assert batched == one_by_one[0]
    assert [p for row in probs for p in row] == pytest.approx([p for row in one_by_one[1] for p in row], abs=1e-5)


def test_the_last_epoch_is_read_from_the_evaluation_and_latency_is_measured_once_per_shape(worker: Worker) -> None:
    worker.plan.objectives.collapse.patience = 0
    worker.forget_timings()  # the module's worker ran trials of this shape before
    first = worker.run({**BASE, "epochs": 2})
    last = first.attrs["history"][-1]
    assert last["macro_f1"] == first.metrics["macro_f1"] and last["accuracy"] == first.metrics["accuracy"]
    assert "reused" not in first.attrs["latency_method"]
    again = worker.run({**BASE, "epochs": 1, "learning_rate": 1e-3, "lora_r": 4})  # the same deployed shape
    assert "reused" in again.attrs["latency_method"]
    assert again.metrics["latency_p50_ms"] == first.metrics["latency_p50_ms"]
    other = worker.run({**BASE, "epochs": 1, "max_length": 12})  # another shape: measured
    assert "reused" not in other.attrs["latency_method"]


def test_trials_of_one_run_on_a_node_time_a_shape_once_across_workers(worker: Worker, tmp_path: Path) -> None:
    from hpsearch.trial import NodeTimings

    worker.plan.objectives.collapse.patience = 0
    try:
        worker.forget_timings()  # as a fresh worker in another process of the same run starts
        worker.node_timings = NodeTimings("run-a", directory=str(tmp_path))
        first = worker.run({**BASE, "epochs": 1})
        assert "reused" not in first.attrs["latency_method"]
        worker.forget_timings()
        again = worker.run({**BASE, "epochs": 1, "learning_rate": 1e-3})
        assert "on this node by another trial of this run" in again.attrs["latency_method"]["reused"]
        assert again.metrics["latency_p50_ms"] == first.metrics["latency_p50_ms"]
        assert again.metrics["throughput_per_s"] == first.metrics["throughput_per_s"]
        worker.forget_timings()
        worker.node_timings = NodeTimings("run-b", directory=str(tmp_path))  # another run times its own
        assert "reused" not in worker.run({**BASE, "epochs": 1}).attrs["latency_method"]
    finally:
        worker.node_timings = None


def test_a_trial_waits_for_the_timing_its_neighbour_is_making(tmp_path: Path) -> None:
    import threading
    import time

    from hpsearch.trial import NodeTimings

    timings = NodeTimings("run", directory=str(tmp_path))
    holding, seen = threading.Event(), []

    def first() -> None:
        with timings.claim("shape") as found:
            assert found is None
            holding.set()
            time.sleep(0.3)  # timing the shape
            timings.put("shape", ({"latency_p50_ms": 7.0}, {"requests": 100}))

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with timings.claim("shape") as found:  # blocks until the first has put its timing
        seen.append(found)
    thread.join()
    assert seen == [({"latency_p50_ms": 7.0}, {"requests": 100})]
    with NodeTimings("other run", directory=str(tmp_path)).claim("shape") as found:
        assert found is None
    with pytest.raises(ValueError, match="timing failed"):  # a failed timing: its own error, the lock let go
        with timings.claim("shape") as found:
            raise ValueError("timing failed")
    with timings.claim("shape") as found:
        assert found == ({"latency_p50_ms": 7.0}, {"requests": 100})


def test_node_timings_that_cannot_be_written_are_not_kept(tmp_path: Path) -> None:
    import shutil

    from hpsearch.trial import NodeTimings

    timings = NodeTimings("run", directory=str(tmp_path))
    shutil.rmtree(timings.directory)
    Path(timings.directory).write_text("", encoding="utf-8")  # not a directory: nothing can be written there
    with timings.claim("shape") as found:
        assert found is None
        timings.put("shape", ({"latency_p50_ms": 7.0}, {}))  # not kept, and no error
    with timings.claim("shape") as found:
        assert found is None


def test_after_each_epoch_a_fixed_subset_of_a_large_validation_split_is_predicted(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    from hpsearch.plan import load_plan

    from ..conftest import toy_rows, write_jsonl

    data = write_jsonl(tmp_path / "toy.jsonl", toy_rows(300))
    space = tmp_path / "space.yaml"
    space.write_text(f"name: t\nmodel: {tiny_model_dir}\n"
                     f"dataset: {{path: {data}, group_columns: group, validation_fraction: 0.5}}\n")
    (tmp_path / "objectives.yaml").write_text(
        "objectives: [{name: macro_f1, direction: maximize}, {name: f1_gap, direction: minimize}]\n"
        "epoch_validation_examples: 60\ncollapse: {patience: 0}\n")
    text = space.read_text() + "objectives: objectives.yaml\n"
    space.write_text(text)
    worker = Worker(load_plan(space), threads=1)
    worker.plan.objectives.latency.warmup, worker.plan.objectives.latency.requests = 1, 5
    predicted: list[tuple[str, int]] = []
    predict_proba = worker.predict_proba

    def spy(model, name, split, reading, batch_size=64):  # type: ignore[no-untyped-def]
        predicted.append((name, len(split)))
        return predict_proba(model, name, split, reading, batch_size)

    worker.predict_proba = spy  # type: ignore[method-assign]
    result = worker.run({**BASE, "epochs": 3}, objectives_each_epoch=True)
    validation = len(worker.splits.validation)
    assert validation == 150
    chosen = worker.epoch_validation()
    subset = chosen.split
    assert (chosen.name, len(subset)) == ("validation_epoch", 60) and worker.epoch_validation() is chosen  # fixed
    assert Counter(subset.labels).keys() == Counter(worker.splits.validation.labels).keys()  # every label in it
    assert predicted.count(("validation_epoch", 60)) == 3  # after each epoch (the scheduler reads the last too)
    assert ("validation", validation) in predicted  # the final evaluation: the whole split
    history = result.attrs["history"]
    assert [h["epoch"] for h in history] == [1.0, 2.0, 3.0] and all("f1_gap" in h for h in history)


def test_a_budget_on_the_deployed_model_is_measured_before_training_only_when_asked(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    from hpsearch.plan import load_plan

    from ..conftest import toy_rows, write_jsonl

    data = write_jsonl(tmp_path / "toy.jsonl", toy_rows(60))
    (tmp_path / "objectives.yaml").write_text(
        "objectives: [{name: macro_f1, direction: maximize}]\nconstraints: ['model_size_mb <= 1000']\n"
        "collapse: {patience: 0}\n")
    space = tmp_path / "space.yaml"
    space.write_text(f"name: t\nmodel: {tiny_model_dir}\ndataset: {{path: {data}, group_columns: group}}\n"
                     "objectives: objectives.yaml\n")
    worker = Worker(load_plan(space), threads=1)
    worker.plan.objectives.latency.warmup, worker.plan.objectives.latency.requests = 1, 5
    rows: list[dict] = []
    # the study's trainer, whose scheduler stops a trial breaking the budget: epoch 0 first, no objective in it
    result = worker.run({**BASE, "epochs": 2}, report=rows.append, budget_first=True)
    assert [r["epoch"] for r in rows] == [0.0, 1.0, 2.0]
    assert set(rows[0]) == {"epoch", "epochs", "step", "model_size_mb"}
    assert rows[0]["model_size_mb"] == pytest.approx(result.metrics["model_size_mb"])  # the same shape, untrained
    assert [h["epoch"] for h in result.attrs["history"]] == [1.0, 2.0]  # not an epoch trained
    # anyone else (export's retraining, the benchmarks) hears the epochs alone
    rows.clear()
    worker.run({**BASE, "epochs": 2}, report=rows.append)
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
