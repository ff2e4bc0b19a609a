"""Seed handling shared by this package's random initializers.

It follows Keras' own random initializers: ``seed`` is an int, a
`keras.random.SeedGenerator`, or None (a random int drawn once, at
construction). An int (or None) seed gives the same values on every call;
a `SeedGenerator` gives new values on every call. `get_config` stores the
seed as it was given.

Example:

>>> class Noise(SeededInitializer):
...     def __call__(self, shape, dtype=None):
...         return keras.random.normal(shape, seed=self.seed_generator())
>>> tuple(Noise(seed=1)((2, 2)).shape)
(2, 2)
"""

from __future__ import annotations

import random

import keras


class SeededInitializer(keras.initializers.Initializer):
    """Base class: stores ``seed`` and hands out seeds for one call's draws.

    It cooperates with other bases: keyword arguments other than ``seed``
    go to the next base (e.g. `MatrixInitializer`'s axes).

    Args:
        seed: A Python int, a `keras.random.SeedGenerator`, or None.
        **kwargs: Passed on to the next base class.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._init_seed = seed
        if seed is None:
            seed = random.randint(1, int(1e9))
        elif isinstance(seed, dict):
            seed = keras.saving.deserialize_keras_object(seed)
        elif isinstance(seed, bool) or not isinstance(
            seed, (int, keras.random.SeedGenerator)
        ):
            raise ValueError(
                "`seed` must be an int, a `keras.random.SeedGenerator` or "
                f"None. Received: seed={seed!r}"
            )
        self.seed = seed

    def seed_generator(self) -> keras.random.SeedGenerator:
        """Return the generator for the draws of one call.

        An int seed starts a fresh generator on each call, so several draws
        within a call are independent and every call repeats them.
        """
        if isinstance(self.seed, keras.random.SeedGenerator):
            return self.seed
        return keras.random.SeedGenerator(self.seed)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "seed": keras.saving.serialize_keras_object(self._init_seed),
        }
