"""What `hpsearch init` holds out of the training file where the data has no validation or test file."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpsearch.plan._commented import Doc

VALIDATION_FRACTION = 0.25
#: Without a test file, this share of the training file is held out as test (and as much again as
#: validation, where there is no validation file either), where the rarest label keeps TEST_MIN_PER_LABEL
#: examples in it: validation chooses the front, so only a split no choice has seen says how it holds.
TEST_FRACTION, TEST_MIN_PER_LABEL = 0.2, 10


def write_held_out(section: "Doc", files: dict[str, Path], train: list[dict[str, Any]], label: str,
                   summary: list[str]) -> tuple[int, float]:
    """Write `validation_fraction` and `test_fraction` where the files call for them; return the rows
    left to train on and the validation share of the training file."""
    size, first = len(train), next(iter(files.values())).name
    rarest = min(Counter(str(r[label]) for r in train).values())
    test = "test" not in files and rarest * TEST_FRACTION >= TEST_MIN_PER_LABEL
    validation_share = TEST_FRACTION if test else VALIDATION_FRACTION
    if "validation" not in files:
        section.put("validation_fraction", validation_share, f"no validation file: {validation_share:.0%} of "
                    f"{first} is held out, stratified by label")
        size -= math.ceil(len(train) * validation_share)
    if test:
        section.put("test_fraction", TEST_FRACTION, f"no test file: {TEST_FRACTION:.0%} of {first} is held out as "
                    "test, stratified: validation chooses the front, test says how it holds on examples no choice saw")
        size -= math.ceil(len(train) * TEST_FRACTION)
        summary.append(f"no test file: {TEST_FRACTION:.0%} of {first} held out as test, {validation_share:.0%} "
                       "as validation")
    elif "test" not in files:
        section.comment(f"no test file, and too few rows to hold one out (the rarest label has {rarest}): "
                        "validation both chooses and measures the front, so its figures flatter the chosen trial")
    return size, validation_share
