"""How a text is read into model inputs: the `long_text`, `max_length` and `max_chunks` knobs.

A text becomes one or more *pieces* (token-id sequences with the model's special tokens, each at
most `max_length` long). ``head`` keeps the first tokens, ``head_tail`` the first and the last
half of the budget, ``chunk_mean`` / ``chunk_max`` consecutive windows (at most `max_chunks`)
whose logits are pooled into the text's logits. Training, evaluation and the timed requests all
read through a :class:`Reading`, so latency is measured on what would be deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Reading:
    long_text: str
    max_length: int
    max_chunks: int = 1

    @classmethod
    def of(cls, config: Any) -> "Reading":
        """The reading a trial's configuration asks for (`max_chunks` matters only for chunks)."""
        chunks = config.max_chunks if config.long_text.startswith("chunk") else 1
        return cls(config.long_text, config.max_length, chunks)

    @property
    def pooled(self) -> bool:
        return self.long_text.startswith("chunk")

    def pieces(self, tokens: Sequence[int], frame: "Frame") -> list[list[int]]:
        """The pieces of one text, from its token ids without special tokens."""
        budget = self.max_length - len(frame.prefix) - len(frame.suffix)
        if budget < 1:
            raise ValueError(f"max_length={self.max_length} leaves no room for text beside the model's "
                             f"{len(frame.prefix) + len(frame.suffix)} special tokens")
        tokens = list(tokens)
        if self.long_text == "head" or len(tokens) <= budget:
            windows = [tokens[:budget]]
        elif self.long_text == "head_tail":
            head = (budget + 1) // 2
            windows = [tokens[:head] + tokens[len(tokens) - (budget - head):]]
        elif self.pooled:
            windows = [tokens[i:i + budget] for i in range(0, len(tokens), budget)][: self.max_chunks]
        else:
            raise ValueError(f"long_text must be head, head_tail, chunk_mean or chunk_max, got {self.long_text!r}")
        return [frame.prefix + w + frame.suffix for w in windows]

    def encode(self, texts: Sequence[str], tokenizer: Any, frame: "Frame | None" = None) -> list[list[list[int]]]:
        """Every text's pieces (tokenised without truncation, then cut as this reading says)."""
        frame = frame or Frame.of(tokenizer)
        ids = tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [self.pieces(t, frame) for t in ids]

    def pool(self, logits: "torch.Tensor", owners: "torch.Tensor", count: int) -> "torch.Tensor":
        """Logits per text from logits per piece; `owners[i]` is the text piece i belongs to (one
        piece per text: the logits as they are)."""
        if logits.shape[0] == count:
            return logits
        import torch

        index = owners.unsqueeze(1).expand_as(logits)
        if self.long_text == "chunk_max":
            out = torch.full((count, logits.shape[1]), float("-inf"), dtype=logits.dtype, device=logits.device)
            return out.scatter_reduce(0, index, logits, reduce="amax", include_self=True)
        total = torch.zeros((count, logits.shape[1]), dtype=logits.dtype, device=logits.device)
        total = total.scatter_add(0, index, logits)
        pieces = torch.bincount(owners, minlength=count).clamp(min=1).to(logits.dtype)
        return total / pieces.unsqueeze(1)


@dataclass(frozen=True)
class Frame:
    """The special tokens a tokenizer puts before and after a text ([CLS] … [SEP], <s> … </s>)."""

    prefix: list[int]
    suffix: list[int]

    @classmethod
    def of(cls, tokenizer: Any) -> "Frame":
        """Found by tokenising a probe text with and without special tokens."""
        probe = "hello world"
        bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
        framed = tokenizer(probe, add_special_tokens=True)["input_ids"]
        for start in range(len(framed) - len(bare) + 1):
            if framed[start:start + len(bare)] == bare:
                return cls(list(framed[:start]), list(framed[start + len(bare):]))
        raise ValueError(f"cannot find where {type(tokenizer).__name__} puts its special tokens")


def flatten(texts: Sequence[Sequence[list[int]]]) -> tuple[list[list[int]], list[int]]:
    """The pieces of several texts in one list, and which text each piece came from."""
    pieces: list[list[int]] = []
    owners: list[int] = []
    for i, text in enumerate(texts):
        pieces.extend(text)
        owners.extend([i] * len(text))
    return pieces, owners
