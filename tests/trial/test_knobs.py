"""Each knob changes what the trial really does (tiny random BERT and Llama; seconds)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hpsearch.plan import load_plan
from hpsearch.space import KNOBS, TrialConfig
from hpsearch.trial import FAMILIES, TARGETS, PeakMemory, TrialFailed, Worker

BASE = {"learning_rate": 5e-3, "epochs": 1, "batch_size": 16, "max_length": 16}


def _space(tmp: Path, model: Path) -> Path:
    from ..conftest import toy_rows, write_jsonl

    rows = [r for i, r in enumerate(toy_rows(120)) if r["label"] != "question" or i % 9 == 2]  # imbalanced
    data = write_jsonl(tmp / "toy.jsonl", rows)
    space = tmp / "space.yaml"
    space.write_text(f"name: k\nmodel: {model}\ndataset: {{path: {data}, group_columns: group}}\n")
    return space


def _worker(space: Path) -> Worker:
    """A worker with its own measurement slot (other test runs on this machine do not pause it)
    and a short latency measurement (these tests check what is measured, not how steadily)."""
    from hpsearch.objectives import MeasurementSlot

    w = Worker(load_plan(space), threads=1)
    w.slot = MeasurementSlot(str(space.parent / "locks"))
    w.plan.objectives.latency.warmup, w.plan.objectives.latency.requests = 1, 5
    w.plan.objectives.collapse.patience = 0  # these tests count steps: a collapse must not stop them
    return w


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Worker:
    return _worker(_space(tmp_path_factory.mktemp("knobs"), tiny_model_dir))


@pytest.fixture(scope="module")
def llama_worker(tmp_path_factory: pytest.TempPathFactory, tiny_llama_dir: Path) -> Worker:
    return _worker(_space(tmp_path_factory.mktemp("knobs-llama"), tiny_llama_dir))


def config_of(**values: Any) -> TrialConfig:
    return TrialConfig.from_values({**BASE, **values})


def run(worker: Worker, **values: Any) -> tuple[dict, dict]:
    result = worker.run({**BASE, **values})
    return result.metrics, result.attrs


def snapshot(model: Any) -> dict[str, Any]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def changed(model: Any, before: dict[str, Any]) -> set[str]:
    return {n for n, p in model.named_parameters() if not p.detach().equal(before[n])}


def adapted(worker: Worker, **values: Any) -> set[str]:
    """Names of the modules that carry LoRA adapters."""
    model = worker.build_model(config_of(**values))
    return {n.rsplit(".lora_A", 1)[0] for n, _ in model.named_modules() if n.endswith(".lora_A")}


def flops(worker: Worker, model: Any, max_length: int = 16) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    ids = worker.encoded("validation", worker.splits.validation, max_length)[:4]
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model.eval()(**worker._batch(ids, pad_to=max_length))
    return counter.get_total_flops()


# ---------------------------------------------------------------- the knob list


def test_every_knob_has_a_default_its_check_accepts() -> None:
    for knob in KNOBS.values():
        assert knob.problem(knob.default) is None, knob.name
    assert TrialConfig().method == "lora"
    with pytest.raises(KeyError, match="unknown knob"):
        TrialConfig.from_values({"layers": 2})


# ---------------------------------------------------------------- method


def test_method_head_trains_only_the_head(worker: Worker) -> None:
    config = config_of(method="head")
    model = worker.build_model(config)
    before = snapshot(model)
    worker.train(model, config)
    assert changed(model, before) == {"classifier.weight", "classifier.bias"}


def test_method_full_trains_the_encoder_too(worker: Worker) -> None:
    config = config_of(method="full")
    model = worker.build_model(config)
    before = snapshot(model)
    worker.train(model, config)
    moved = changed(model, before)
    encoder = {n for n in before if ".encoder.layer." in n}
    assert encoder and encoder <= moved
    assert {"classifier.weight", "bert.embeddings.word_embeddings.weight"} <= moved
    base = dict(worker.base_model.named_parameters())
    assert all(p.equal(before[n]) for n, p in base.items() if n in before and "classifier" not in n)  # a copy


def test_method_lora_trains_adapters_and_leaves_the_base_weights(worker: Worker) -> None:
    config = config_of(method="lora")
    model = worker.build_model(config)
    worker.train(model, config)
    base = dict(worker.base_model.named_parameters())
    frozen = 0
    for name, p in model.named_parameters():
        plain = name.removeprefix("base_model.model.").replace(".base_layer", "")
        if "lora_" in name:
            assert p.requires_grad, name
        elif "classifier" not in name:
            assert not p.requires_grad and p.equal(base[plain]), name
            frozen += 1
    assert frozen == len(base) - 2  # every base weight but the head's
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # B starts at zero: it was trained
    merged, _ = worker.deploy(model, config)
    query = "bert.encoder.layer.0.attention.self.query.weight"
    assert not any("lora" in n for n, _ in merged.named_modules())
    assert not dict(merged.named_parameters())[query].equal(base[query])  # adapters merged in


def test_method_sets_the_number_of_trainable_params(worker: Worker) -> None:
    counts = {m: run(worker, method=m)[0]["trainable_params"] for m in ("head", "lora", "full")}
    assert counts["head"] == 32 * 3 + 3
    assert counts["head"] < counts["lora"] < counts["full"]
    assert counts["full"] == sum(p.numel() for p in worker.base_model.parameters())


# ---------------------------------------------------------------- where adapters go


def test_target_modules_bert(worker: Worker) -> None:
    attention = adapted(worker, target_modules="attention")
    mlp = adapted(worker, target_modules="attention+mlp")
    every = adapted(worker, target_modules="all-linear")
    assert {n.split(".layer.")[1][2:] for n in attention} == {
        "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}
    assert {n.split(".layer.")[1][2:] for n in mlp - attention} == {"intermediate.dense", "output.dense"}
    assert mlp <= every and len(attention) == 2 * 4 and len(mlp) == 2 * 6


def test_target_modules_llama(llama_worker: Worker) -> None:
    attention = adapted(llama_worker, target_modules="attention")
    mlp = adapted(llama_worker, target_modules="attention+mlp")
    every = adapted(llama_worker, target_modules="all-linear")
    assert {n.rsplit(".", 1)[1] for n in attention} == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert {n.rsplit(".", 1)[1] for n in mlp - attention} == {"gate_proj", "up_proj", "down_proj"}
    assert mlp == every and len(attention) == 2 * 4


def _tiny(model_type: str) -> Any:
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if model_type == "distilbert":
        sizes: dict[str, Any] = {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}
    else:
        sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
        if FAMILIES[model_type] in ("llama", "phi3"):
            sizes.update(num_key_value_heads=2, head_dim=16)
    config = AutoConfig.for_model(model_type, vocab_size=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                  num_labels=3, **sizes)
    return AutoModelForSequenceClassification.from_config(config)


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_every_mapped_family_names_real_modules(model_type: str) -> None:
    """Each name in TARGETS exists in a model of each type it is mapped for; layers are found."""
    import torch
    from peft import LoraConfig, get_peft_model

    from hpsearch.trial import keep_layers, target_modules, transformer_layers

    model = _tiny(model_type)
    linear = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    for part in ("attention", "mlp"):
        for name in TARGETS[FAMILIES[model_type]][part]:
            assert any(n == name or n.endswith("." + name) for n in linear), (model_type, name)
    sets = []
    for which in ("attention", "attention+mlp"):
        peft_model = get_peft_model(_tiny(model_type), LoraConfig(
            task_type="SEQ_CLS", r=2, target_modules=target_modules(model_type, which),
            layers_to_transform=[1], layers_pattern=transformer_layers(model)[0].rsplit(".", 1)[1]))
        sets.append({n for n, _ in peft_model.named_modules() if n.endswith(".lora_A")})
    assert sets[0] and sets[0] < sets[1]
    assert all(".1." in n and ".0." not in n for n in sets[1])  # layers_to_transform honoured
    keep_layers(model, 1)
    assert len(transformer_layers(model)[1]) == model.config.num_hidden_layers == 1
    model.eval()(input_ids=torch.tensor([[1, 5, 6, 2]]))


def test_lora_layers_puts_adapters_only_in_the_top_layers(worker: Worker, llama_worker: Worker) -> None:
    every, top = adapted(worker, lora_layers=0), adapted(worker, lora_layers=1)
    assert top and top < every
    assert all(".layer.1." in n for n in top) and any(".layer.0." in n for n in every)
    assert all(".layers.1." in n for n in adapted(llama_worker, lora_layers=1))
    assert adapted(worker, lora_layers=2) == every
    with pytest.raises(TrialFailed, match="lora_layers=5, but the model has 2 layers"):
        worker.build_model(config_of(lora_layers=5))


def test_lora_layers_counts_from_the_top_of_the_kept_layers(worker: Worker) -> None:
    assert all(".layer.0." in n for n in adapted(worker, layers_kept=1, lora_layers=1))
    with pytest.raises(TrialFailed, match=r"lora_layers=2, but the model has 1 layers \(layers_kept=1\)"):
        worker.build_model(config_of(layers_kept=1, lora_layers=2))


# ---------------------------------------------------------------- model size


@pytest.mark.parametrize("which", ["worker", "llama_worker"])
def test_layers_kept_drops_the_top_layers(which: str, request: pytest.FixtureRequest) -> None:
    from hpsearch.trial import transformer_layers

    w: Worker = request.getfixturevalue(which)
    full = w.build_model(config_of(method="full"))
    kept = w.build_model(config_of(method="full", layers_kept=1))
    assert len(transformer_layers(kept)[1]) == kept.config.num_hidden_layers == 1
    assert transformer_layers(kept)[1][0] is not transformer_layers(full)[1][0]
    bottom = transformer_layers(w.base_model)[1][0]
    assert all(p.equal(q) for p, q in zip(transformer_layers(kept)[1][0].parameters(), bottom.parameters()))
    assert flops(w, kept) < 0.75 * flops(w, full)
    assert sum(p.numel() for p in kept.parameters()) < sum(p.numel() for p in full.parameters())
    assert len(transformer_layers(w.base_model)[1]) == 2  # the cached base is untouched
    with pytest.raises(TrialFailed, match="layers_kept=3, but the model has 2 layers"):
        w.build_model(config_of(layers_kept=3))


def test_layers_kept_reaches_the_trial_metrics(worker: Worker) -> None:
    one, _ = run(worker, layers_kept=1)
    two, _ = run(worker, layers_kept=0)
    assert one["layers"] == 1.0 and two["layers"] == 2.0
    assert one["model_size_mb"] < two["model_size_mb"]


# ---------------------------------------------------------------- data and steps


def test_max_length_truncates_the_inputs_and_sets_the_latency_shape(worker: Worker) -> None:
    short, long = (worker.encoded("train", worker.splits.train, n) for n in (4, 32))
    assert max(map(len, short)) == 4 < max(map(len, long)) <= 32
    assert run(worker, max_length=8)[0]["latency_seq_len"] == 8.0
    model = worker.build_model(config_of())
    assert flops(worker, model, 8) < flops(worker, model, 32)


@pytest.fixture
def optimizer_steps():
    """Counts every optimizer step taken while the test runs."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    steps: list[int] = []
    handle = register_optimizer_step_post_hook(lambda *_: steps.append(1))
    yield steps
    handle.remove()


def test_epochs_and_batch_size_set_the_number_of_steps(worker: Worker, optimizer_steps: list) -> None:
    per_epoch = math.ceil(len(worker.splits.train) / 8)
    metrics, attrs = run(worker, epochs=2, batch_size=8)
    assert len(optimizer_steps) == metrics["train_steps"] == 2 * per_epoch
    assert [h["step"] for h in attrs["history"]] == [per_epoch, 2 * per_epoch]


def test_max_steps_overrides_epochs(worker: Worker, optimizer_steps: list) -> None:
    per_epoch = math.ceil(len(worker.splits.train) / 8)
    rows: list[dict] = []
    result = worker.run({**BASE, "max_steps": per_epoch + 2, "batch_size": 8, "epochs": 5}, rows.append)
    assert len(optimizer_steps) == result.metrics["train_steps"] == per_epoch + 2
    assert [r["step"] for r in rows] == [per_epoch, per_epoch + 2]  # end of the pass, then at max_steps
    assert rows[-1]["learning_rate"] == 0.0  # the linear schedule spans max_steps, not 5 epochs
    optimizer_steps.clear()
    assert run(worker, max_steps=3, batch_size=8)[0]["train_steps"] == len(optimizer_steps) == 3


# ---------------------------------------------------------------- optimisation


def history(worker: Worker, **values: Any) -> list[dict[str, float]]:
    """Train without the final evaluation: what the training loop itself did."""
    config = config_of(**values)
    return worker.train(worker.build_model(config), config)[0]


def _lrs(worker: Worker, **values: Any) -> list[float]:
    return [h["learning_rate"] for h in history(worker, epochs=3, **values)]


def test_scheduler_and_warmup_shape_the_learning_rate(worker: Worker) -> None:
    linear, constant, cosine = (_lrs(worker, scheduler=s) for s in ("linear", "constant", "cosine"))
    assert constant == [5e-3] * 3
    assert linear[-1] == 0.0 and linear[0] > linear[1]
    assert cosine != linear and cosine[0] > cosine[1] and cosine[-1] == pytest.approx(0.0, abs=1e-12)
    warm = history(worker, warmup_ratio=0.5, scheduler="constant_with_warmup", epochs=1, batch_size=8)
    assert warm[0]["learning_rate"] == 5e-3
    slow = history(worker, warmup_ratio=0.9, scheduler="constant_with_warmup", epochs=2, batch_size=8)
    assert slow[0]["learning_rate"] < 5e-3 == slow[1]["learning_rate"]


def _batch_loss(worker: Worker, **values: Any) -> float:
    import torch

    torch.manual_seed(0)
    logits = torch.randn(12, 3)
    labels = torch.tensor(worker.splits.train.labels[:12])
    return float(worker.loss_function(config_of(**values))(logits, labels))


def test_label_smoothing_changes_the_loss_of_the_same_batch(worker: Worker) -> None:
    import torch
    import torch.nn.functional as F

    plain, smooth = _batch_loss(worker), _batch_loss(worker, label_smoothing=0.3)
    assert smooth != plain
    torch.manual_seed(0)
    logits = torch.randn(12, 3)
    log_p = F.log_softmax(logits, -1)
    labels = torch.tensor(worker.splits.train.labels[:12])
    expected = 0.7 * F.nll_loss(log_p, labels) + 0.3 * (-log_p.mean(-1)).mean()
    assert smooth == pytest.approx(float(expected), rel=1e-5)


def test_balanced_class_weighting_weights_the_loss_by_inverse_frequency(worker: Worker) -> None:
    assert worker.loss_function(config_of()).weight is None
    weights = worker.loss_function(config_of(class_weighting="balanced")).weight.tolist()
    counts = Counter(worker.splits.train.labels)
    n, k = len(worker.splits.train), len(worker.splits.label_names)
    assert weights == pytest.approx([n / (k * counts[c]) for c in range(k)])
    rare, common = min(counts, key=counts.get), max(counts, key=counts.get)
    assert weights[rare] > 1 > weights[common]
    assert _batch_loss(worker, class_weighting="balanced") != _batch_loss(worker)


def _loss(worker: Worker, **values: Any) -> float:
    return history(worker, **values)[0]["train_loss"]


@pytest.mark.parametrize("knob, a, b", [
    ("label_smoothing", 0.0, 0.3),
    ("class_weighting", "none", "balanced"),
    ("seed", 0, 1),
    ("learning_rate", 1e-4, 1e-2),
    ("lora_r", 2, 16),
    ("lora_alpha", 1.0, 64.0),
    ("lora_dropout", 0.0, 0.5),
    ("weight_decay", 0.0, 10.0),
])
def test_training_knobs_change_the_training(worker: Worker, knob: str, a: object, b: object) -> None:
    assert _loss(worker, **{knob: a}) != _loss(worker, **{knob: b})


# ---------------------------------------------------------------- quantization


def test_quantization_on_cpu_quantizes_the_deployed_model(worker: Worker) -> None:
    import bitsandbytes as bnb
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    plain, attrs = run(worker)
    assert attrs["quantization_applied"] == "none"
    for kind, layer in [("int8", DynamicLinear), ("nf4", bnb.nn.Linear4bit), ("fp4", bnb.nn.Linear4bit)]:
        config = config_of(quantization=kind)
        model, applied = worker.deploy(worker.build_model(config), config)
        assert applied.startswith(kind)
        query = model.bert.encoder.layer[0].attention.self.query
        assert type(query) is layer and type(model.classifier) is torch.nn.Linear, kind
        if kind != "int8":
            assert query.weight.dtype == torch.uint8 and query.weight.quant_state.quant_type == kind
        metrics, attrs = run(worker, quantization=kind)
        assert attrs["quantization_applied"] == applied
        assert metrics["model_size_mb"] < plain["model_size_mb"] and math.isfinite(metrics["macro_f1"])


def test_quantization_changes_what_the_model_computes(worker: Worker) -> None:
    import torch

    ids = worker._batch(worker.encoded("validation", worker.splits.validation, 16))
    config = config_of(method="full")
    model = worker.build_model(config)
    with torch.inference_mode():
        reference = model.eval()(**ids).logits
        for kind in ("int8", "nf4"):
            quantized, _ = worker.deploy(worker.build_model(config), config_of(method="full", quantization=kind))
            difference = (quantized(**ids).logits - reference).abs().max()
            assert 0 < difference < reference.abs().max(), kind


# ---------------------------------------------------------------- precision


def test_bf16_trains_under_autocast_and_measures_in_fp32(worker: Worker, monkeypatch) -> None:
    import torch

    monkeypatch.setattr("hpsearch.trial._hardware.bf16_problem", lambda cuda: None)  # any CPU runs it, slowly or not
    seen: list[tuple[bool, bool]] = []
    forward = worker.forward

    def spy(model: Any, texts: Any, reading: Any) -> Any:
        logits = forward(model, texts, reading)
        seen.append((torch.is_autocast_enabled("cpu"), model.training))
        return logits

    monkeypatch.setattr(worker, "forward", spy)
    metrics, attrs = run(worker, precision="bf16", max_steps=2)
    assert attrs["config"]["precision"] == "bf16"
    training = [autocast for autocast, train in seen if train]
    assert training and all(training)  # every training step under bf16 autocast
    assert not any(autocast for autocast, train in seen if not train)  # evaluation in fp32
    assert 0.0 <= metrics["macro_f1"] <= 1.0 and math.isfinite(attrs["history"][-1]["train_loss"])
    seen.clear()
    run(worker, precision="fp32", max_steps=2)
    assert seen and not any(autocast for autocast, _ in seen)
    # with a check after epoch 1: its predictions in the training's precision, the final evaluation in fp32
    seen.clear()
    metrics, attrs = run(worker, precision="bf16", epochs=2)
    checks = [autocast for autocast, train in seen if not train]
    assert len(attrs["history"]) == 2 and checks[0] and not checks[-1]


def test_auto_precision_trains_in_bf16_only_where_the_hardware_has_it_and_records_which(
        worker: Worker, monkeypatch) -> None:
    import torch

    seen: list[bool] = []
    forward = worker.forward

    def spy(model: Any, texts: Any, reading: Any) -> Any:
        if model.training:
            seen.append(torch.is_autocast_enabled("cpu"))
        return forward(model, texts, reading)

    monkeypatch.setattr(worker, "forward", spy)
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2", "avx512_bf16"})
    _, attrs = run(worker, precision="auto", max_steps=2)
    assert seen and all(seen)
    assert attrs["config"]["precision"] == "bf16"  # what it trained in: the recorded config runs the same again
    assert attrs["precision_chosen"].startswith("auto: bf16 (this CPU")
    seen.clear()
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2"})
    _, attrs = run(worker, precision="auto", max_steps=2)
    assert seen and not any(seen)
    assert attrs["config"]["precision"] == "fp32"
    assert attrs["precision_chosen"].startswith("auto: fp32 (this CPU") and "AVX512-BF16" in attrs["precision_chosen"]
    _, attrs = run(worker, precision="fp32", max_steps=2)
    assert "precision_chosen" not in attrs


def test_bf16_where_the_hardware_has_none_fails_the_trial_and_names_the_knob(worker: Worker, monkeypatch) -> None:
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2", "fma"})
    with pytest.raises(TrialFailed, match="precision=bf16: this CPU .* has neither AMX-BF16 nor AVX512-BF16") as info:
        worker.run({**BASE, "precision": "bf16"})
    assert info.value.knobs == {"precision": "bf16"}
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2", "amx_bf16"})
    from hpsearch.trial._hardware import bf16_problem

    assert bf16_problem(cuda=False) is None


def test_4bit_without_bitsandbytes_support_fails_the_trial(worker: Worker, monkeypatch) -> None:
    monkeypatch.setattr("hpsearch.trial._models.cpu_4bit_problem", lambda kind: "no CPU backend")
    with pytest.raises(TrialFailed, match=r"quantization=nf4 needs a CUDA GPU \(bitsandbytes 4-bit\); none is present"):
        worker.build_model(config_of(quantization="nf4"))
    worker.build_model(config_of(quantization="int8"))  # int8 does not need bitsandbytes on a CPU


@pytest.fixture(scope="module")
def kbit_worker(tmp_path_factory: pytest.TempPathFactory) -> Worker:
    """A worker switched to the QLoRA path (bitsandbytes loads the weights) on this CPU.

    Its tiny BERT has hidden size 64: bitsandbytes' packed CPU kernels (taken on processors with
    AVX-512) need each 4-bit layer's input side to be a multiple of the 64-wide quantisation block.
    """
    from ..conftest import save_tiny_model

    tmp = tmp_path_factory.mktemp("knobs-kbit")
    model = save_tiny_model(tmp / "bert-64", "BertConfig", "BertForSequenceClassification",
                            hidden_size=64, intermediate_size=128)
    worker = _worker(_space(tmp, model))
    worker.kbit_training = True
    return worker


@pytest.mark.parametrize("kind, layer", [("nf4", "Linear4bit"), ("int8", "Linear8bitLt")])
def test_qlora_path_loads_quantized_weights_and_trains_adapters(kbit_worker: Worker, kind: str, layer: str) -> None:
    """The GPU code path (BitsAndBytesConfig, kbit preparation, LoRA, merge) run on a CPU."""
    model = kbit_worker.build_model(config_of(quantization=kind))
    base = model.get_base_model()
    assert type(base.bert.encoder.layer[0].attention.self.query.base_layer).__name__ == layer
    assert type(base.bert.encoder.layer[0].intermediate.dense).__name__ == layer
    assert base.classifier.modules_to_save["default"].weight.dtype.is_floating_point  # head not quantised
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or "classifier.modules_to_save" in n for n in trainable)
    metrics, attrs = run(kbit_worker, quantization=kind)
    assert "QLoRA" in attrs["quantization_applied"] and math.isfinite(metrics["macro_f1"])
    with pytest.raises(TrialFailed, match="needs method=lora or method=head"):
        kbit_worker.build_model(config_of(quantization=kind, method="full"))
    head = kbit_worker.build_model(config_of(quantization=kind, method="head"))
    assert {n for n, p in head.named_parameters() if p.requires_grad} == {"classifier.weight", "classifier.bias"}


@pytest.mark.gpu
def test_qlora_on_a_gpu(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    gpu = Worker(load_plan(_space(tmp_path, tiny_model_dir)))
    assert gpu.kbit_training
    for kind, layer in [("nf4", "Linear4bit"), ("fp4", "Linear4bit"), ("int8", "Linear8bitLt")]:
        model = gpu.build_model(config_of(quantization=kind))
        query = model.get_base_model().bert.encoder.layer[0].attention.self.query.base_layer
        assert type(query).__name__ == layer and query.weight.device.type == "cuda"
        result = gpu.run({**BASE, "quantization": kind, "epochs": 2})
        assert "QLoRA" in result.attrs["quantization_applied"], kind
        assert result.metrics["peak_memory_mb"] > 0 and "CUDA" in result.attrs["peak_memory"]
        assert math.isfinite(result.metrics["macro_f1"]) and result.metrics["latency_p50_ms"] > 0
    head = gpu.run({**BASE, "quantization": "nf4", "method": "head"})
    assert head.metrics["trainable_params"] == 32 * 3 + 3


# ---------------------------------------------------------------- what every trial records


def test_every_trial_records_size_memory_and_time(worker: Worker) -> None:
    metrics, attrs = run(worker)
    for key in ("trainable_params", "peak_memory_mb", "model_size_mb", "train_seconds", "train_steps",
                "latency_p50_ms", "layers"):
        assert math.isfinite(metrics[key]) and metrics[key] > 0, key
    assert attrs["peak_memory"] and attrs["device"]["threads"] == 1
    state_bytes = sum(t.numel() * t.element_size() for t in worker.base_model.state_dict().values())
    assert metrics["model_size_mb"] == pytest.approx(state_bytes / 2**20, rel=0.02)


def test_peak_memory_is_the_trials_own_peak() -> None:
    """A large, freed allocation shows in its own trial's peak, not in the next trial's."""
    import torch

    cpu = torch.device("cpu")
    with PeakMemory(cpu) as big:
        block = torch.ones(64 * 2**20)  # 256 MiB, touched
        del block
    with PeakMemory(cpu) as small:
        pass
    assert big.peak_mb > small.peak_mb + 200
    assert small.peak_mb > 50  # the process itself


def test_importing_bitsandbytes_and_wrapping_in_lora_through_hpsearch_prints_nothing() -> None:
    """On a CPU with AVX512-BF16, bitsandbytes looks for a hub kernel at import and, offline, warned
    'Failed to load CPU gemm_4bit_forward from kernels-community ... pip install kernels' into every
    export and retrain (it keeps its own kernels either way); peft's LoRA wrapper reads a property
    transformers deprecates, a FutureWarning in every retrain."""
    import subprocess
    import sys

    code = ("import hpsearch, peft, bitsandbytes, transformers\n"
            "config = transformers.BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, "
            "intermediate_size=8)\n"
            "model = transformers.BertForSequenceClassification(config)\n"
            "peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules=['query', 'value']))\n")
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for noise in ("gemm_4bit_forward", "publisher trust", "is_gradient_checkpointing"):
        assert noise not in done.stderr, done.stderr[-2000:]
