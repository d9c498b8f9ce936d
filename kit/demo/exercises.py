"""Check helpers for the exercise notebook: a failed check reads as one line, not a traceback.

    from kit.demo.exercises import answered, expect
    answered("Task 1", n_wells)                  # fails until the `...` is replaced
    expect(n_wells == 5, "Task 1: count the wells that hold images")

IPython shows an exception's ``_render_traceback_()`` instead of the traceback, so a learner
sees "✗ Task 1: ..." and the notebook still stops there, as a failed check should.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NotYet", "answered", "expect"]


class NotYet(AssertionError):
    """A check that does not pass yet (an AssertionError, shown as one friendly line)."""

    def _render_traceback_(self) -> list[str]:
        return [f"✗ {self}"]


def answered(task: str, *values: Any) -> None:
    """Fail with a hint while any of ``values`` is still the ``...`` placeholder."""
    if any(v is Ellipsis for v in values):
        raise NotYet(f"{task}: not answered yet - replace the ... in the cell above "
                     "with your answer")


def expect(condition: Any, message: str) -> None:
    """Fail with ``message`` (a hint, not the solution) unless ``condition`` holds."""
    if not condition:
        raise NotYet(message)
