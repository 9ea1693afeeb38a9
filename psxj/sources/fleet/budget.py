"""How much memory the tables of all hosts may take together: one bound for the whole fleet.

Part of the fleet source. A bound per answer (decode.MAX_ANSWER) is not enough: a thousand hosts
each sending the most one may send would hold tens of GiB. So an answer is counted from the moment
its length is known, before a byte of it is read, and its table for as long as it is shown; a host
whose next answer would pass the bound fails with that reason, and the others stay.

A table is counted as twice its answer's bytes (the escaped command and the raw arguments each hold
a copy of the text) plus 1 KiB a row: measured, a real host's table takes 0.9 KiB a row in all, and
400,000 tiny rows crafted to fill 52 MiB take 440 MiB, which this counts as 510.
"""

from __future__ import annotations

import threading

FLEET_MEMORY = 1 << 30     # bytes, for every host's answers and tables together
ROW_BYTES = 1024


def table_cost(answer_bytes: int, rows: int) -> int:
    """What a decoded table of `rows` rows from an answer of `answer_bytes` bytes is counted as."""
    return 2 * answer_bytes + rows * ROW_BYTES


class FleetMemory:
    """Bytes taken and given back by every host's session and decoder (from two threads)."""

    def __init__(self, limit: int = FLEET_MEMORY) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, amount: int) -> bool:
        """Count `amount` more bytes, or refuse (False) when that would pass the bound."""
        with self._lock:
            if self.used + amount > self.limit:
                return False
            self.used += amount
            return True

    def give(self, amount: int) -> None:
        with self._lock:
            self.used = max(self.used - amount, 0)
