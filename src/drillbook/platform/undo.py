"""The undo stack every sandbox provider brings up behind: each action's undo stacked before it acts."""

from __future__ import annotations

from collections.abc import Callable


class UndoStack:
    """Undos stacked as bring-up goes; :meth:`close` runs every one in reverse, raising the first failure last."""

    def __init__(self) -> None:
        self.stack: list[Callable[[], None]] = []

    def push(self, undo: Callable[[], None]) -> None:
        """Stack ``undo`` (before the action it undoes runs)."""
        self.stack.append(undo)

    def close(self) -> None:
        """Run every undo, in reverse, even when one fails; the first failure is raised after the rest ran."""
        failure: BaseException | None = None
        while self.stack:
            try:
                self.stack.pop()()
            except BaseException as exc:  # re-raised below, once the other undos ran
                failure = failure or exc
        if failure is not None:
            raise failure
