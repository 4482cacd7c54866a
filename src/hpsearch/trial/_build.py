"""A trial's model, built fresh from the worker's base weights (``Worker.build_model``): layers
dropped, mean pooling, heads re-initialised, and the method applied: full fine-tuning, the head
alone, LoRA, or QLoRA on bitsandbytes-quantised weights where a CUDA device is."""

from __future__ import annotations

import copy
from typing import Any

from hpsearch.space import TrialConfig
from hpsearch.trial._outcome import TrialFailed


def build_model(base_model: Any, model_path: str, num_labels: int, config: TrialConfig, device: Any,
                kbit_training: bool) -> Any:
    """A fresh model for one trial: layers dropped, head re-initialised, method applied.

    Where `kbit_training` holds (a CUDA device) and quantization is set, the base weights are
    loaded quantised by bitsandbytes and frozen (QLoRA). Elsewhere the trial trains a copy of
    the fp32 base, and quantization is applied to the deployed model (``Worker.deploy``).
    """
    import torch

    from hpsearch.trial._models import head_modules, keep_layers, load_quantized

    torch.manual_seed(config.seed)
    qlora = config.quantization != "none" and kbit_training
    if qlora:
        if config.method == "full":
            raise TrialFailed(f"quantization={config.quantization} freezes the quantised base weights "
                              "(QLoRA): it needs method=lora or method=head, got method=full",
                              {"quantization": config.quantization, "method": "full"})
        model = load_quantized(model_path, num_labels, config.quantization, device)
        model.config.pad_token_id = base_model.config.pad_token_id
    else:
        if config.quantization in ("nf4", "fp4"):
            from hpsearch.trial._models import cpu_4bit_problem

            problem = cpu_4bit_problem(config.quantization)
            if problem:
                raise TrialFailed(f"quantization={config.quantization} needs a CUDA GPU (bitsandbytes "
                                  f"4-bit); none is present ({problem})", {"quantization": config.quantization})
        model = copy.deepcopy(base_model)
    if config.layers_kept:
        try:
            keep_layers(model, config.layers_kept)
        except ValueError as exc:
            raise TrialFailed(str(exc)) from None
    if config.pooling == "mean":
        from hpsearch.trial._models import use_mean_pooling

        try:
            use_mean_pooling(model)
        except ValueError as exc:
            raise TrialFailed(str(exc)) from None
    heads = head_modules(model)
    for head in heads.values():
        for module in head.modules():
            if hasattr(model, "_init_weights"):
                model._init_weights(module)
            elif hasattr(module, "reset_parameters"):
                module.reset_parameters()
    if qlora:
        from peft import prepare_model_for_kbit_training

        # freezes every weight, casts the unquantised ones to fp32, turns on gradient checkpointing
        model = prepare_model_for_kbit_training(model)
    if config.method in ("full", "head"):
        for p in model.parameters():
            p.requires_grad_(config.method == "full")
        for head in heads.values():
            for p in head.parameters():
                p.requires_grad_(True)
        return model if qlora else model.to(device)
    return _with_lora(model, config, extra_heads=[n for n in heads if n not in ("classifier", "score")],
                      on_device=qlora, device=device)


def _with_lora(model: Any, config: TrialConfig, extra_heads: list[str], on_device: bool, device: Any) -> Any:
    """Wrap `model` in LoRA adapters placed by target_modules and lora_layers."""
    from peft import LoraConfig, get_peft_model

    from hpsearch.trial._models import target_modules, transformer_layers

    try:
        targets = target_modules(model.config.model_type, config.target_modules)
    except ValueError as exc:
        raise TrialFailed(str(exc)) from None
    layer_kwargs: dict[str, Any] = {}
    if config.lora_layers:
        path, layers = transformer_layers(model)
        if config.lora_layers > len(layers):
            raise TrialFailed(f"lora_layers={config.lora_layers}, but the model has {len(layers)} layers"
                              + (f" (layers_kept={config.layers_kept})" if config.layers_kept else ""),
                              {"lora_layers": config.lora_layers, "layers_kept": config.layers_kept})
        layer_kwargs = {
            "layers_to_transform": list(range(len(layers) - config.lora_layers, len(layers))),
            "layers_pattern": path.rsplit(".", 1)[-1],
        }
    lora = LoraConfig(
        task_type="SEQ_CLS",  # PEFT then trains the classifier/score head in full
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        modules_to_save=extra_heads or None,
        **layer_kwargs,
    )
    model = get_peft_model(model, lora)
    return model if on_device else model.to(device)
