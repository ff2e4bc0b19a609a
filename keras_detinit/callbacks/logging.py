"""Epoch-0 logging shared by this package's callbacks.

Keras has no logs at ``on_train_begin``, so a callback that measures the
model at initialization (*epoch 0*) and after every epoch logs, with
``prefix="p"``:

* ``p/<...>``: the value after this epoch;
* ``p_init/<...>`` (the prefix followed by ``_init``): the epoch-0 value,
  repeated in every epoch's logs, so `keras.callbacks.History` and
  `keras.callbacks.CSVLogger` (placed after the callback) get a constant
  column for it.

Its own ``history`` maps each key of the first kind to a list indexed by
epoch number: index 0 is the initialization, index ``k`` the state after
``k`` epochs of this ``fit``; ``initial`` holds the epoch-0 values.

Example:

>>> class Count(EpochZeroCallback):
...     def evaluate(self, model=None):
...         return {f"{self.prefix}/layers": float(len(self.model.layers))}
>>> Count("count").initial_key("count/layers")
'count_init/layers'
"""

from __future__ import annotations

import keras


class EpochZeroCallback(keras.callbacks.Callback):
    """Base class: logs `evaluate` at epoch 0 and after every epoch.

    Subclasses implement `evaluate`, returning values keyed
    ``<prefix>/...`` or ``<prefix>_<aggregate>/...``, and may override
    `reset` to clear state before the epoch-0 evaluation.

    Args:
        prefix: First part of every log key; a non-empty string.
        log_initial: Whether to log the epoch-0 values (``_init`` keys).
    """

    def __init__(self, prefix: str, log_initial: bool = True):
        super().__init__()
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"`prefix` must be a non-empty string. Received: {prefix!r}")
        self.prefix = prefix
        self.log_initial = bool(log_initial)
        self.history: dict[str, list[float]] = {}
        self.initial: dict[str, float] = {}

    def evaluate(self, model: keras.Model | None = None) -> dict[str, float]:
        """Compute every value now, keyed as in the logs (no ``_init`` keys)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Clear per-``fit`` state; called before the epoch-0 evaluation."""

    def initial_key(self, key: str) -> str:
        """The log key of a value's epoch-0 counterpart."""
        return f"{self.prefix}_init" + key[len(self.prefix):]

    def on_train_begin(self, logs=None):
        self.reset()
        self.initial = self.evaluate()
        self.history = {key: [value] for key, value in self.initial.items()}

    def on_epoch_end(self, epoch, logs=None):
        values = self.evaluate()
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        if logs is not None:
            logs.update(values)
            if self.log_initial:
                logs.update(
                    (self.initial_key(key), value) for key, value in self.initial.items()
                )
