"""Random streams for batched Monte Carlo that do not depend on chunk sizes.

Trials are cut into *stream blocks* of a fixed number of trials that depends
only on the backend and the number of random values per trial; block ``b``
draws from its own generator, seeded with child ``b`` of the caller's
SeedSequence (as ``SeedSequence.spawn`` would make it, without mutating the
caller's sequence).  A chunk — what is held in memory at once — is a whole
number of blocks, so results depend on (seed, row size, trials, backend) and
never on the chunk size.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..backend import child_seed, make_rng

__all__ = ["BLOCK_ELEMS", "block_trials", "iter_block_rngs"]

#: Random values per stream block (NumPy: cache-sized; CuPy: one large launch).
BLOCK_ELEMS = {"numpy": 1 << 18, "cupy": 1 << 24}


def block_trials(row_elems: int, backend: str) -> int:
    """Trials per stream block for rows of ``row_elems`` random values."""
    return max(1, BLOCK_ELEMS[backend] // max(1, row_elems))


def iter_block_rngs(root: np.random.SeedSequence, trials: int, row_elems: int, backend: str,
                    chunk_elems: int) -> Iterator[list[tuple[Any, int]]]:
    """Yield, chunk by chunk, the list of ``(rng, rows)`` of its stream blocks."""
    per_block = block_trials(row_elems, backend)
    blocks_per_chunk = max(1, chunk_elems // (per_block * max(1, row_elems)))
    n_blocks = -(-trials // per_block)
    for first in range(0, n_blocks, blocks_per_chunk):
        yield [(make_rng(child_seed(root, b), backend), min(per_block, trials - b * per_block))
               for b in range(first, min(first + blocks_per_chunk, n_blocks))]
