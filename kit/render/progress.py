"""Progress for long reads: an ipywidgets bar in a notebook kernel, tqdm in a terminal.

The bar follows the chunk reads of one batched ``read_boxes``, so it moves as chunks arrive
whatever the number of wells.
"""

from __future__ import annotations


def in_kernel() -> bool:
    """True inside a running IPython kernel (Jupyter, VS Code, Colab), not a terminal IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Progress:
    """No-op progress; the base of the real ones."""

    def update(self, done: int, total: int) -> None:
        pass

    def close(self) -> None:
        pass


class TqdmProgress(Progress):
    def __init__(self, desc: str):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=1, desc=desc, unit="chunk", leave=False)

    def update(self, done: int, total: int) -> None:
        if self.bar.total != max(total, 1):
            self.bar.total = max(total, 1)
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)  # redraws at most every mininterval

    def close(self) -> None:
        self.bar.refresh()  # the final state, even when updates came faster than mininterval
        self.bar.close()


class WidgetProgress(Progress):
    def __init__(self, desc: str):
        import ipywidgets as w
        from IPython.display import display

        self.bar = w.IntProgress(value=0, min=0, max=1, description=desc)
        display(self.bar)

    def update(self, done: int, total: int) -> None:
        with self.bar.hold_sync():
            self.bar.max = max(total, 1)
            self.bar.value = done

    def close(self) -> None:
        self.bar.close()


def make_progress(enabled: bool, desc: str) -> Progress:
    """The right indicator for where the code runs; a silent one when disabled or unavailable."""
    if not enabled:
        return Progress()
    try:
        return WidgetProgress(desc) if in_kernel() else TqdmProgress(desc)
    except ImportError:
        return Progress()
