"""The one progress protocol of long work (grid builds, banded builds, sweeps).

A long function takes ``progress``: ``False`` (silent), ``True`` (a progress bar on
stderr) or a callable ``progress(fraction, stage)`` called after each step with the
share done, in [0, 1], and what was just done, as the app's spinners and bars want it.
`progress_ticker` turns that argument into the ``tick(stage)`` and ``close()`` a loop calls.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressArg", "ProgressCallback", "progress_ticker"]

#: ``progress(fraction, stage)``: the share done, in [0, 1], and the stage just done.
ProgressCallback = Callable[[float, str], None]

#: What a long function takes as ``progress``: silent, a bar on stderr, or a callback.
ProgressArg = bool | ProgressCallback


def progress_ticker(progress: ProgressArg, steps: int, *, desc: str = "steps",
                    unit: str = "step") -> tuple[Callable[[str], None], Callable[[], None]]:
    """``tick(stage)`` to call after each of ``steps`` steps, and ``close()`` to call at the end.

    Parameters
    ----------
    progress : bool or callable
        ``False``, ``True`` (a tqdm bar on stderr named ``desc``) or ``progress(fraction, stage)``.
    steps : int
        The number of steps the work takes (a fraction never passes 1).
    desc, unit : str
        The bar's name and the name of one step.

    Examples
    --------
    >>> seen = []
    >>> tick, close = progress_ticker(lambda f, s: seen.append((f, s)), 2)
    >>> tick("read"); tick("wrote"); close()
    >>> seen
    [(0.5, 'read'), (1.0, 'wrote')]
    """
    if callable(progress):
        callback = progress
        done = [0]

        def tick_callback(stage: str) -> None:
            done[0] += 1
            callback(min(done[0] / max(steps, 1), 1.0), stage)

        return tick_callback, lambda: None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, unit=unit)

        def tick_bar(stage: str) -> None:
            bar.set_postfix_str(stage)
            bar.update(1)

        return tick_bar, bar.close
    return (lambda stage: None), (lambda: None)
