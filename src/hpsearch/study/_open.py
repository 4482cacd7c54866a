"""A study by name, for the commands that read one (pareto, report): one line if it is not there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.errors import Problem, UserError
from hpsearch.study._storage import mask_url, open_storage

if TYPE_CHECKING:
    import optuna


def open_study(url: str, name: str, source: str = "--study", storage_source: str = "--storage") -> "optuna.Study":
    """The study `name` in the database at `url`; a UserError naming `source` (with the studies the
    database does hold) if there is none, or naming `storage_source` if the database cannot be opened."""
    import optuna

    storage = open_storage(url, source=storage_source, existing=True)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = sorted(s.study_name for s in storage.get_all_studies())
        held = f"studies there: {', '.join(names)}" if names else "it holds no study"
        raise UserError(Problem(source, "", f"no study named {name!r} in {mask_url(url)} ({held})")) from None
