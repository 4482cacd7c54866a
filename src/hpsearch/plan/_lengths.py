"""What `hpsearch init` offers for text length: `max_length` windows from the data's token counts
and, where texts are longer than the largest window, how they are read (`long_text`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpsearch.plan._commented import Doc

#: The windows offered, in tokens; without a GPU at most CPU_WINDOW_CAP (attention grows with the square
#: of it), a longer text being read by `long_text` instead.
WINDOWS, CPU_WINDOW_CAP = (32, 64, 128, 256, 512), 256
#: why chunk_mean is left out of the readings searched without a GPU (docs/benchmarks.md)
CHUNKS_ON_A_CPU = ("in docs/benchmarks.md it trained 2.2x and answered 2.9x as slowly as head and read worst of "
                   "the three on engineering_issues and medical_abstracts")


def windows_and_readings(fixed: "Doc", params: "Doc", lengths: list[int], cap: int, model: str, summary: list[str],
                         gpu: bool) -> None:
    """`max_length` (fixed or searched) and, where p90 is longer than the largest window, how long texts
    are read, from the sorted token counts `lengths`; a line for the summary."""
    p50, p90, p99 = (lengths[max(0, math.ceil(q / 100 * len(lengths)) - 1)] for q in (50, 90, 99))
    windows = [w for w in WINDOWS if w <= cap] or [WINDOWS[0]]
    low = min([w for w in windows if w >= p50], default=windows[-1])  # half of the texts fit the smallest
    if low == windows[-1] and len(windows) > 1:
        low = windows[-2]  # most texts are longer than any window: offer a faster one too
    high = min([w for w in windows if w >= p90], default=windows[-1])
    choices = [w for w in windows if low <= w <= high]
    choices = choices if len(choices) <= 3 else [choices[0], choices[len(choices) // 2], choices[-1]]
    facts = f"tokens per text ({model} tokenizer, {len(lengths)} texts): p50 {p50}, p90 {p90}, p99 {p99}"
    if len(choices) > 1:
        params.comment(f"{facts}; windows (powers of two) from one that p50 fits to one that p90 fits"
                       + (f", at most {cap} without a GPU" if cap == CPU_WINDOW_CAP else "")
                       + ": shorter is faster, longer reads more")
        params.put("max_length", {"type": "categorical", "choices": choices})
    else:
        fixed.comment(f"{facts}: one window covers p50 to p90")
        fixed.put("max_length", choices[0])
    top = choices[-1]
    longer = sum(n > top for n in lengths) / len(lengths)
    if p90 > top:
        readings = ["head", "head_tail", "chunk_mean"] if gpu else ["head", "head_tail"]
        params.comment(f"{longer:.0%} of texts are longer than the largest window ({top} tokens): search how they "
                       "are read (the start; the start and the end" + ("; windows averaged)" if gpu else ")"))
        if not gpu:
            params.comment(f"chunk_mean (windows averaged) is left out without a GPU: {CHUNKS_ON_A_CPU}; add it, "
                           "with fixed max_chunks, to search it")
        params.put("long_text", {"type": "categorical", "choices": readings})
        if not gpu:
            summary.append(f"{facts} -> max_length {choices}, long_text [head, head_tail] (chunk_mean left out "
                           f"without a GPU: {CHUNKS_ON_A_CPU})")
            return
        chunks = min(8, math.ceil(p90 / top))
        fixed.put("max_chunks", chunks, f"chunk_mean reads at most {chunks} windows: ceil(p90 {p90} / {top})"
                  + (", capped at 8" if chunks < math.ceil(p90 / top) else ""))
        most, least = top * chunks, choices[0]  # tokens a text costs: chunk_mean at the largest window, head
        summary.append(f"{facts} -> max_length {choices}, long_text [head, head_tail, chunk_mean], max_chunks {chunks}"
                       + (f" (a trial reading chunk_mean at {top} processes up to {most / least:.0f}x the tokens per "
                          f"text of one reading the head at {least}: up to {most} against {least})"
                          if most >= 2 * least else ""))
    else:
        short = sum(n > choices[0] for n in lengths) / len(lengths)
        cut = "" if len(choices) == 1 else f", {short:.0%} at max_length {choices[0]}"
        fixed.put("long_text", "head", f"texts fit: p90 {p90} <= {top} tokens; {longer:.0%} are longer and cut{cut}")
        summary.append(f"{facts} -> max_length {choices}, long_text head")
