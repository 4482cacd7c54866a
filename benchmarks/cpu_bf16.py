"""bf16 autocast against fp32 on this CPU: one LoRA training step (batch 32 x 128 tokens) and one batch-1
request of the packaged MiniLM, alternating in one process (docs/benchmarks.md, issue #13). Prints the
times of each repetition and their minimum and median; the CPU flags that matter (AMX, AVX512-BF16).

    .venv/bin/python benchmarks/cpu_bf16.py
"""
import os
import time

import torch
os.environ["HF_HUB_OFFLINE"]="1"
from transformers import AutoModelForSequenceClassification
from peft import LoraConfig, get_peft_model
from hpsearch.space import resolve_model
torch.set_num_threads(2)
m = AutoModelForSequenceClassification.from_pretrained(resolve_model("minilm"), num_labels=3)
m = get_peft_model(m, LoraConfig(task_type="SEQ_CLS", r=8, lora_alpha=16, target_modules=["query","key","value","attention.output.dense"]))
opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-3)
ids = torch.randint(1000, 20000, (32, 128)); y = torch.randint(0, 3, (32,))
def step(bf16):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = m(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    loss = torch.nn.functional.cross_entropy(out.float(), y); loss.backward(); opt.step(); opt.zero_grad()
def infer(bf16):
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        m(input_ids=ids[:1, :64], attention_mask=torch.ones_like(ids[:1, :64]))
step(False); step(True)
res = {False: [], True: [], "iF": [], "iT": []}
for r in range(8):
    for bf in (False, True):
        t = time.perf_counter(); step(bf); res[bf].append(time.perf_counter() - t)
        t = time.perf_counter()
        for _ in range(20): infer(bf)
        res["iT" if bf else "iF"].append((time.perf_counter() - t) / 20 * 1000)
print("train step s fp32", [round(x,2) for x in res[False]], "bf16 autocast", [round(x,2) for x in res[True]])
print("batch-1 request ms fp32", [round(x,1) for x in res["iF"]], "bf16 autocast", [round(x,1) for x in res["iT"]])
print("torch CPU capability:", torch.backends.cpu.get_cpu_capability(), "; flags:", sorted({f for f in open("/proc/cpuinfo").read().split() if f.startswith(("amx", "avx512_bf16"))}))
import statistics as S
print("min/median train fp32", round(min(res[False]),2), round(S.median(res[False]),2), "bf16", round(min(res[True]),2), round(S.median(res[True]),2))
print("min/median request fp32", round(min(res["iF"]),1), round(S.median(res["iF"]),1), "bf16", round(min(res["iT"]),1), round(S.median(res["iT"]),1))
