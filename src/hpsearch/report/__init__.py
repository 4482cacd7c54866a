"""What people read: the plan before a run, the Pareto front and the baseline after it, the F1 per
class of the front, and what to change where no fine-tuned trial learned."""

from __future__ import annotations

from hpsearch.report._advice import nothing_learned_advice
from hpsearch.report._classes import GAVE_UP, ClassF1, ClassRow, class_f1
from hpsearch.report._tables import (
    BASELINE_NAMES,
    baseline_lines,
    class_table,
    pareto_table,
    print_plan,
    print_summary,
)

__all__ = ["BASELINE_NAMES", "GAVE_UP", "ClassF1", "ClassRow", "baseline_lines", "class_f1", "class_table",
           "nothing_learned_advice", "pareto_table", "print_plan", "print_summary"]
