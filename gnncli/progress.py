"""Progress reporting that workflows use without knowing who (if anyone) is watching.

The CLI passes a :class:`Reporter` over a rich ``Progress`` on stderr; library callers pass
nothing and get silence.
"""

from __future__ import annotations

from typing import Any


class Reporter:
    """Wraps an optional ``rich.progress.Progress``; every method is a no-op without one."""

    def __init__(self, progress: Any | None = None) -> None:
        self.progress = progress

    def start(self, description: str, total: float | None, **fields: Any) -> Any:
        if self.progress is None:
            return None
        return self.progress.add_task(description, total=total, info="", **fields)

    def advance(self, task: Any, amount: float = 1, **fields: Any) -> None:
        if self.progress is not None and task is not None:
            self.progress.update(task, advance=amount, **fields)

    def update(self, task: Any, **fields: Any) -> None:
        if self.progress is not None and task is not None:
            self.progress.update(task, **fields)

    def finish(self, task: Any) -> None:
        if self.progress is not None and task is not None:
            t = self.progress.tasks[[x.id for x in self.progress.tasks].index(task)]
            if t.total is not None:
                self.progress.update(task, completed=t.total)
