"""User-facing errors: one line each, naming the file and the key, exit code 2."""

from __future__ import annotations

from dataclasses import dataclass

#: Exit status for a user's mistake (bad YAML, data, database URL, model path).
USAGE_EXIT_CODE = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's input: where it is and what must hold."""

    source: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"


class UserError(Exception):
    """A mistake in what the user gave us; printed without a traceback, exit code 2."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("hpsearch", "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def user_error(source: str, key: str, message: str) -> UserError:
    return UserError(Problem(source, key, message))
