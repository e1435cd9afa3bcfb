"""Chunked batching: attacks, maps and metrics process large batches a piece at a time."""
from __future__ import annotations


def chunks(n: int, size: int | None = None) -> list[slice]:
    """Slices cutting ``n`` items into consecutive pieces of ``size`` (``None``: one piece)."""
    size = size or n
    return [slice(i, i + size) for i in range(0, n, size)]
