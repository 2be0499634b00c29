"""Running a function over blocks of a list in worker processes, with results back in order.

Featurization (:class:`gnncli.domains.molecules.reader.Featurizer`) and CPU inference
(:mod:`gnncli.domains.molecules.inference`) both cut a list of inputs into blocks of
:data:`BLOCK_SIZE`, run one function per block in a pool of processes kept alive across calls,
and merge the blocks' results. Each block's result is a tuple whose last element maps positions
*inside the block* to an error message (an input that could not be read); :meth:`BlockPool.collect`
turns those into positions in the list.

This module imports no torch.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np

#: Items per block: big enough to amortize process round trips and vectorize over a block,
#: small enough that a block's work stays in cache and blocks spread over the workers.
BLOCK_SIZE = 256


def pool_context():
    """fork where available (as torch's DataLoader does): workers need not re-import the caller's
    ``__main__``, so scripts without a main guard, ``python -`` and notebooks work."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def lower_priority() -> None:
    """Worker initializer: run at lower priority, so that the process feeding the workers (and a
    model it runs) is not starved by its own workers when there are few cores."""
    try:
        os.nice(10)
    except OSError:
        pass


class BlockPool:
    """Maps ``fn`` over blocks of a list (:meth:`submit`, then :meth:`collect`).

    ``workers=1``, or a list of at most ``min_items`` items, runs in this process, lazily during
    :meth:`collect`. Use as a context manager so worker processes are closed.
    """

    def __init__(self, fn: Callable[[list], tuple], workers: int = 1, *, initializer: Callable | None = None,
                 initargs: tuple = (), min_items: int = 0) -> None:
        self.fn = fn
        self.workers = max(1, workers)
        self.initializer = initializer
        self.initargs = initargs
        self.min_items = min_items
        self._pool = None

    def __enter__(self) -> BlockPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def submit(self, items: Sequence) -> tuple[list[int], Iterator[tuple]]:
        """Start ``fn`` on every block of ``items``; pass the result to :meth:`collect`."""
        blocks = [list(items[i : i + BLOCK_SIZE]) for i in range(0, len(items), BLOCK_SIZE)]
        sizes = [len(b) for b in blocks]
        if self.workers > 1 and len(items) > self.min_items:
            if self._pool is None:
                self._pool = pool_context().Pool(self.workers, initializer=self.initializer, initargs=self.initargs)
            return sizes, self._pool.imap(self.fn, blocks)
        return sizes, map(self.fn, blocks)

    def collect(self, submitted: tuple[list[int], Iterator[tuple]], progress: Callable[[int], None] | None = None,
                ) -> tuple[list[tuple], np.ndarray, dict[int, str]]:
        """Wait for a :meth:`submit`: ``(results, valid_positions, errors)``.

        ``results`` holds each block's result without its error map, in order; ``valid_positions``
        the positions in the submitted list without an error; ``errors`` position -> message.
        """
        sizes, results = submitted
        parts, valid, errors = [], [], {}
        offset = 0
        for size, result in zip(sizes, results):
            *part, block_errors = result
            errors.update({offset + k: v for k, v in block_errors.items()})
            valid.extend(offset + i for i in range(size) if i not in block_errors)
            parts.append(tuple(part))
            offset += size
            if progress is not None:
                progress(size)
        return parts, np.asarray(valid, np.int64), errors
