"""``print`` for probes.

Promise: what a probe prints is rendered by us (text.py) and written piece by piece to the
attempt's capped output buffer; once the buffer is full the attempt stops with a "limit"
outcome, and ``print(file=...)`` is refused. Threat model: SECURITY.md, "Output".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safeprobe.probe.text import to_text

if TYPE_CHECKING:
    from safeprobe.probe.sandbox import AttemptState


class Printer:
    """``print`` for probes: writes rendered text to the capped output buffer."""

    __slots__ = ("_state",)

    def __init__(self, state: AttemptState) -> None:
        self._state = state

    def _call_print(
        self,
        *objects: object,
        sep: object = " ",
        end: object = "\n",
        file: object = None,
        flush: object = False,
    ) -> None:
        state = self._state
        if file is not None:
            state.deny("print", "print(file=...) is not available; output goes to the operator")
        sep_text = " " if sep is None else sep
        end_text = "\n" if end is None else end
        if type(sep_text) is not str or type(end_text) is not str:
            raise TypeError("sep and end must be strings")
        # Piece by piece, never joined: the buffer keeps what fits and nothing is built
        # beyond it, however many large arguments there are.
        for index, obj in enumerate(objects):
            if index:
                state.output.write(sep_text)
            state.output.write(to_text(obj, state.render_limits))
            self._stop_if_full()
        state.output.write(end_text)
        self._stop_if_full()

    def _stop_if_full(self) -> None:
        state = self._state
        if state.output.truncated:
            raise state.budget.stop(
                "limit", "limits.max_output", f"output over {state.output.max_bytes} bytes"
            )
