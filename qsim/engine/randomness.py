"""Independent random streams, one per source of randomness.

Each stream is derived from the run's seed and the stream's *name*
through numpy's SeedSequence, so adding a stream never shifts the
numbers another stream draws, and the sync and async topologies see the
same arrivals and the same per-request work (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["Streams", "derive_seed"]


def derive_seed(root: int, *key: int) -> int:
    """Return a run seed derived from a root seed and an integer key path."""
    sequence = np.random.SeedSequence(root, spawn_key=tuple(key))
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


class Streams:
    """Hand out one `numpy.random.Generator` per named stream."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._made: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        generator = self._made.get(name)
        if generator is None:
            key = (zlib.crc32(name.encode()),)
            sequence = np.random.SeedSequence(self.seed, spawn_key=key)
            generator = self._made[name] = np.random.default_rng(sequence)
        return generator
