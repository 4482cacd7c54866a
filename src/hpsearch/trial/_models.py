"""Base models: loading one, which family it is, and how a method is applied to it.

Where a space's `model:` points is `hpsearch.space.resolve_model`'s; every kind (the packaged
MiniLM, a local directory, a hub id) goes through the same code path here. Nothing here
downloads unless the user names a hub id and the machine allows it (HF_HUB_OFFLINE unset).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError
from hpsearch.space import resolve_model

if TYPE_CHECKING:
    import torch


#: Linear-layer names per architecture family, for the `target_modules` knob. PEFT matches a
#: name against the end of a module's dotted path. Checked against each listed model type
#: (tests/trial/test_knobs.py builds a tiny model of each from its config).
TARGETS: dict[str, dict[str, list[str]]] = {
    "bert": {
        "attention": ["query", "key", "value", "attention.output.dense"],
        "mlp": ["intermediate.dense", "output.dense"],
    },
    "deberta": {
        "attention": ["query_proj", "key_proj", "value_proj", "attention.output.dense"],
        "mlp": ["intermediate.dense", "output.dense"],
    },
    "distilbert": {
        "attention": ["q_lin", "k_lin", "v_lin", "out_lin"],
        "mlp": ["ffn.lin1", "ffn.lin2"],
    },
    "llama": {
        "attention": ["q_proj", "k_proj", "v_proj", "o_proj"],
        "mlp": ["gate_proj", "up_proj", "down_proj"],
    },
    "phi3": {
        "attention": ["qkv_proj", "o_proj"],
        "mlp": ["gate_up_proj", "down_proj"],
    },
}
FAMILIES = {
    "bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "electra": "bert",
    "deberta-v2": "deberta", "distilbert": "distilbert",
    "llama": "llama", "qwen2": "llama", "qwen3": "llama", "mistral": "llama", "gemma": "llama",
    "gemma2": "llama", "phi3": "phi3",
}
#: Modules that make up the classification head (re-initialised per trial, trained by every
#: method, never quantised). DistilBERT puts a `pre_classifier` projection before `classifier`.
HEAD_NAMES = ("pre_classifier", "classifier", "score")


def family(model_type: str) -> str | None:
    return FAMILIES.get(model_type)


def target_modules(model_type: str, which: str) -> list[str] | str:
    """The PEFT `target_modules` for a knob value on a model type."""
    if which == "all-linear":
        return "all-linear"
    fam = family(model_type)
    if fam is None:
        raise ValueError(
            f"target_modules={which!r} is not mapped for model type {model_type!r}; use 'all-linear'"
        )
    names = list(TARGETS[fam]["attention"])
    if which == "attention+mlp":
        names += TARGETS[fam]["mlp"]
    return names


def check_model(ref: str, source: str, base: str | None = None, revision: str | None = None,
                fetch: bool = False) -> tuple[str, str]:
    """Load the config and tokenizer once so a bad model fails before anything is written; with `fetch`,
    a pinned `revision` the local cache lacks is fetched from the hub first (``resolve_model``).

    Returns the resolved path or id and the model type.
    """
    resolved = resolve_model(ref, source, base=base, revision=revision, fetch=fetch)
    from huggingface_hub.utils import logging as hub_logging
    from transformers import AutoConfig, AutoTokenizer

    level = hub_logging.get_verbosity()
    hub_logging.set_verbosity_error()  # a hub it cannot reach: its retries are not the user's one line
    try:
        config = AutoConfig.from_pretrained(resolved)
        AutoTokenizer.from_pretrained(resolved)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(Problem(source, "model", f"cannot load {ref!r}: {first}")) from None
    finally:
        hub_logging.set_verbosity(level)
    return resolved, config.model_type


def head_modules(model: "torch.nn.Module") -> dict[str, "torch.nn.Module"]:
    """The classification head's top-level modules by attribute name (see HEAD_NAMES)."""
    found = {name: getattr(model, name) for name in HEAD_NAMES if getattr(model, name, None) is not None}
    if not any(name in found for name in ("classifier", "score")):
        raise ValueError(f"{type(model).__name__} has no classification head named classifier or score")
    return found


def load_base(path: str, num_labels: int) -> tuple[Any, Any]:
    """Tokenizer and sequence-classification model, with a pad token set for decoders.

    The weights load in fp32 whatever the checkpoint holds (decoders are mostly saved in bf16, and
    transformers loads a checkpoint's own dtype by default): a trial's `precision` decides what it
    computes in, and its trainable weights and optimiser state stay fp32 (QLoRA: ``load_quantized``).
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    # A classifier fine-tuned for another label set is fine: the head is re-initialised per trial.
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels, ignore_mismatched_sizes=True, dtype=torch.float32
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return tokenizer, model


def use_mean_pooling(model: "torch.nn.Module") -> None:
    """Make a BERT-style classifier read the mean of its token states under the attention mask
    instead of its pooled first token, in place (the `pooling: mean` knob).

    The base model's ``pooler`` is swapped for a masked-mean pooler; a forward pre-hook on the
    base model hands it each call's attention mask. Raises ValueError for a model without a pooler.
    """
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if base is None or getattr(base, "pooler", None) is None:
        raise ValueError(f"pooling=mean needs a BERT-style model with a pooler; {type(model).__name__} has none "
                         "(use pooling: cls)")
    pooler = _mean_pooler_class()()
    base.pooler = pooler
    base.register_forward_pre_hook(pooler.remember, with_kwargs=True)


@functools.cache
def _mean_pooler_class() -> type:
    import torch

    class _MaskedMeanPooler(torch.nn.Module):
        """The mean of the token states where the attention mask is 1 (all of them without a mask)."""

        def __init__(self) -> None:
            super().__init__()
            self.mask: Any = None

        def remember(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
            self.mask = kwargs.get("attention_mask")

        def forward(self, hidden_states: "torch.Tensor") -> "torch.Tensor":
            mask = self.mask
            if mask is None or tuple(mask.shape) != tuple(hidden_states.shape[:2]):
                return hidden_states.mean(1)
            weights = mask.unsqueeze(-1).to(hidden_states.dtype)
            return (hidden_states * weights).sum(1) / weights.sum(1).clamp(min=1)

    return _MaskedMeanPooler


def transformer_layers(model: "torch.nn.Module") -> tuple[str, "torch.nn.ModuleList"]:
    """The attribute path and list of the transformer blocks (BERT `encoder.layer`, Llama `layers`)."""
    import torch

    count = getattr(model.config, "num_hidden_layers", None)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == count and name.rsplit(".", 1)[-1] in (
            "layer", "layers", "h", "blocks"
        ):
            return name, module
    raise ValueError(f"cannot find the transformer layers of {type(model).__name__}")


def keep_layers(model: "torch.nn.Module", kept: int) -> None:
    """Drop the top transformer layers in place, keeping the bottom `kept`."""
    import torch

    name, layers = transformer_layers(model)
    if not 0 < kept <= len(layers):
        raise ValueError(f"layers_kept={kept}, but the model has {len(layers)} layers")
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    setattr(parent, name.rsplit(".", 1)[-1], torch.nn.ModuleList(list(layers)[:kept]))
    model.config.num_hidden_layers = kept
    for config in (model.config, getattr(model.config, "text_config", None)):
        if config is not None and isinstance(getattr(config, "layer_types", None), list):
            config.layer_types = config.layer_types[:kept]


def quantize_for_inference(model: "torch.nn.Module", kind: str) -> str:
    """Quantise a trained fp32 model's linear layers (head excluded) in place, for CPU inference.

    Returns what was applied. int8 is torch's dynamic quantisation (int8 weights, activations
    quantised per batch, int8 matmuls); nf4/fp4 swap in bitsandbytes `Linear4bit` layers (4-bit
    weights, dequantised to fp32 for each matmul: smaller, not faster, on a CPU). bitsandbytes
    >= 0.46 runs 4-bit layers on a CPU; where it cannot, this raises RuntimeError.
    """
    import torch

    head = {id(m) for h in head_modules(model).values() for m in h.modules()}
    targets = [(n, m) for n, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and id(m) not in head]
    if kind == "int8":
        spec = {n: torch.ao.quantization.default_dynamic_qconfig for n, _ in targets}
        torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)
        return f"int8 dynamic (torch, CPU inference), {len(targets)} linear layers"
    if kind not in ("nf4", "fp4"):
        raise ValueError(f"quantization must be one of int8, nf4, fp4; got {kind!r}")
    fits = [(n, m) for n, m in targets if _blocksize_4bit(m) is not None]
    try:
        for name, linear in fits:
            parent, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, attr,
                    _linear_4bit(linear, kind, _blocksize_4bit(linear) or 64))
    except (ImportError, RuntimeError, NotImplementedError) as exc:
        raise RuntimeError(f"bitsandbytes cannot run {kind} on this CPU: {exc}") from exc
    kept = len(targets) - len(fits)
    return (f"{kind} (bitsandbytes 4-bit weights, fp32 compute, CPU inference), {len(fits)} linear layers"
            + (f"; {kept} kept in fp32 (sides not multiples of 32)" if kept else ""))


def _blocksize_4bit(linear: "torch.nn.Linear") -> int | None:
    """The quantisation block size for a 4-bit copy of `linear`, or None to keep it in fp32.

    bitsandbytes' packed CPU kernels (taken on processors with AVX-512) need the input side to be
    a multiple of the block size and the output side a multiple of 32; real models' layers are,
    tiny test models' may not be.
    """
    if linear.out_features % 32:
        return None
    return next((size for size in (64, 32) if linear.in_features % size == 0), None)


def _linear_4bit(linear: "torch.nn.Linear", kind: str, blocksize: int) -> "torch.nn.Module":
    """A bitsandbytes 4-bit copy of `linear` on the CPU (fp32 compute)."""
    import bitsandbytes as bnb
    import torch

    q = bnb.nn.Linear4bit(linear.in_features, linear.out_features, bias=linear.bias is not None,
                          compute_dtype=torch.float32, quant_type=kind, device="meta")
    q.weight = bnb.nn.Params4bit(linear.weight.data.clone(), requires_grad=False, quant_type=kind,
                                 blocksize=blocksize)
    if linear.bias is not None:
        q.bias = torch.nn.Parameter(linear.bias.data.clone(), requires_grad=False)
    q = q.to("cpu")  # Params4bit quantises on its first move to a device
    if not q.weight.bnb_quantized:
        raise RuntimeError("bitsandbytes left the weights unquantised")
    return q


def load_quantized(path: str, num_labels: int, kind: str, device: "torch.device") -> Any:
    """A sequence classifier loaded in 4- or 8-bit by bitsandbytes, for QLoRA training.

    The head (HEAD_NAMES) stays out of quantisation; 4-bit layers compute in bf16 and keep
    double-quantised statistics, as in the QLoRA paper. Meant for a CUDA device.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, BitsAndBytesConfig

    skip = list(HEAD_NAMES)
    if kind == "int8":
        config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    else:
        config = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=kind, bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True, llm_int8_skip_modules=skip,
        )
    if device.type == "cuda":
        place: int | str = torch.cuda.current_device() if device.index is None else device.index
    else:
        place = str(device)
    return AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels, quantization_config=config, device_map={"": place},
        dtype=torch.bfloat16, ignore_mismatched_sizes=True,
    )


@functools.cache
def cpu_4bit_problem(kind: str) -> str | None:
    """Why bitsandbytes cannot run a `kind` (nf4/fp4) layer on this CPU, or None when it can.

    Tried once per process on a small layer: quantise, run forward, compare with fp32.
    """
    import torch

    try:
        with torch.random.fork_rng(), torch.inference_mode():  # leaves the trial's seeded RNG alone
            linear = torch.nn.Linear(64, 64)
            x = torch.randn(4, 64)
            reference = linear(x)
            error = float((_linear_4bit(linear, kind, 64)(x) - reference).abs().max() / reference.abs().max())
    except Exception as exc:  # noqa: BLE001 - whatever fails, 4-bit cannot run here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}"
    if not error < 0.5:
        return f"bitsandbytes {kind} output is off by {error:.0%} of the fp32 output"
    return None
