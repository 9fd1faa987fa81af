"""Argparse types every command shares, so that the same bad value reads the same everywhere.

Why one module and not each command's own: ``--jobs 0`` ran nothing and exited 0 in one command, ``--jobs two``
gave three different messages in three; and the battery's options (``conformance.commands``), the article
checker and the document checker cannot import one another without a cycle.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def count_type(option: str = "--jobs", *, auto: bool = False,
               maximum: int | None = None) -> Callable[[str], int | str]:
    """The argparse type of a count option (``--jobs``, ``--reps``...): a whole number from 1 (to ``maximum``),
    or ``auto`` where the option takes it; anything else exits 2 with one line naming the fix.

    One parser for every command's counts, so that ``--jobs 0`` or ``--jobs two`` reads the same everywhere
    (0 would run nothing and still exit 0; a typo of three extra zeros would run for days).
    """
    more = f", or {option} auto" if auto else ""

    def parse(value: str) -> int | str:
        if auto and value == "auto":
            return value
        try:
            count = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number (use {option} 2{more})") from None
        if count < 1:
            raise argparse.ArgumentTypeError(f"{count} runs nothing (use {option} 1 or more{more})")
        if maximum is not None and count > maximum:
            raise argparse.ArgumentTypeError(f"{count} is more than {maximum} (use {option} {maximum} or fewer{more})")
        return count

    return parse
