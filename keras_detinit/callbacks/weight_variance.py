"""`WeightVarianceCallback`: V(W, t) and V / sigma0^2 at init and every epoch."""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import keras
import numpy as np

from keras_detinit import validation
from keras_detinit.callbacks.logging import EpochZeroCallback

OVERALL = "overall"
METRICS = ("v", "mean", "ratio")


class WeightVarianceCallback(EpochZeroCallback):
    """Logs the mean squared weight ``V(W, t)`` of Horii and Has.

    For each watched layer and for all of them pooled, after every epoch
    and at ``on_train_begin`` (epoch 0, the initialization of a fresh
    model):

    * ``v``: ``V(W, t) = mean(W^2)`` over the entries;
    * ``mean``: ``mean(W)`` (the paper compares ``V`` with the variance,
      valid while ``mean(W)^2 << V``);
    * ``ratio``: ``V / sigma0^2``, the quantity of the paper's optimal
      condition ``sigma0^2 = V`` at steady state. Without ``sigma0``
      (e.g. for ``he_normal``), ``V`` is divided by its own epoch-0 value;
      the ratio is NaN, with a warning, where that value is 0 (a layer
      initialized with zeros) or unknown (see below).

    Non-finite weights (a diverged run) give NaN values and a warning.
    TensorFlow builds a model defined without ``keras.Input`` (or a
    subclassed one) only at its first training step, after
    ``on_train_begin``: its weights at initialization cannot be read, so
    the epoch-0 values are NaN, with a warning; start the model with
    ``keras.Input`` (or build it) to have them on every backend.

    **Log keys** (``prefix="wvar"``), in the scheme of
    `keras_detinit.callbacks.logging`: ``wvar/<layer>/<metric>`` per layer,
    ``wvar_overall/<metric>`` pooled over every watched weight (each entry
    counts once, so wide layers weigh more), and the epoch-0 values under
    ``wvar_init/<layer>/<metric>`` and ``wvar_init_overall/<metric>``.
    `history` lists each key by epoch (index 0 = initialization).

    Args:
        sigma0: The standard deviation of the Gaussian initialization
            (> 0), or None to use the epoch-0 ``V`` as reference.
        layers: Layers to watch, by name or object; default every
            top-level layer with a ``kernel``.
        include_biases: Whether biases count as weights of their layer.
        prefix: First part of every log key.
        log_layers: Whether to log per-layer keys besides the overall ones.
        log_initial: Whether to log the epoch-0 values (``_init`` keys).

    Example:

    >>> import keras, numpy as np
    >>> x = np.random.rand(64, 8).astype("float32")
    >>> y = np.random.randint(0, 2, 64)
    >>> model = keras.Sequential([
    ...     keras.Input((8,)),
    ...     keras.layers.Dense(16, activation="relu", kernel_initializer=
    ...                        keras.initializers.RandomNormal(stddev=0.15)),
    ...     keras.layers.Dense(2, activation="softmax")])
    >>> model.compile("sgd", "sparse_categorical_crossentropy")
    >>> watch = WeightVarianceCallback(sigma0=0.15)
    >>> history = model.fit(x, y, epochs=2, verbose=0, callbacks=[watch])
    >>> sorted(k for k in history.history if k.startswith("wvar_overall"))
    ['wvar_overall/mean', 'wvar_overall/ratio', 'wvar_overall/v']
    >>> len(watch.history["wvar_overall/v"])   # epoch 0, 1, 2
    3
    """

    def __init__(
        self,
        sigma0: float | None = None,
        layers: Sequence | None = None,
        include_biases: bool = False,
        prefix: str = "wvar",
        log_layers: bool = True,
        log_initial: bool = True,
    ):
        super().__init__(prefix, log_initial)
        self.sigma0 = None if sigma0 is None else validation.check_positive("sigma0", sigma0)
        self.layer_selection = None if layers is None else list(layers)
        self.include_biases = bool(include_biases)
        self.log_layers = bool(log_layers)
        self._initial_v: dict[str, float] = {}
        self._initial_unknown = False

    def reset(self) -> None:
        self._initial_v = {}
        self._initial_unknown = False

    def on_train_begin(self, logs=None):
        if self.layer_selection is not None or _kernel_layers(self.model):
            super().on_train_begin(logs)
            return
        # Not built yet (TensorFlow builds at the first step): epoch 0 is unknown.
        self.reset()
        self._initial_unknown = True
        self.initial, self.history = {}, {}
        warnings.warn(
            f"WeightVarianceCallback: model {self.model.name!r} has no weights yet when "
            "training starts (TensorFlow builds it at the first step), so V at "
            "initialization is NaN" + ("" if self.sigma0 is not None else
                                        " and so is the ratio, which needs it") +
            ". Start the model with keras.Input, or build it, before fit().",
            RuntimeWarning, stacklevel=2)

    def on_epoch_end(self, epoch, logs=None):
        if self._initial_unknown and not self.history:
            unknown = dict.fromkeys(self.evaluate(), math.nan)
            self.initial = unknown
            self.history = {key: [value] for key, value in unknown.items()}
        super().on_epoch_end(epoch, logs)

    def evaluate(self, model: keras.Model | None = None) -> dict[str, float]:
        """Compute every value now, keyed as in the logs (no ``_init`` keys).

        Args:
            model: The model to read; default: the model being trained.

        Returns:
            Key -> value, per layer (if ``log_layers``) and overall.
        """
        model = model if model is not None else self.model
        per_layer = {layer.name: self._weights_of(layer) for layer in self._layers(model)}
        values = {}
        if self.log_layers:
            for name, weights in per_layer.items():
                values.update(self._metrics(f"{self.prefix}/{name}", weights))
        pooled = np.concatenate(list(per_layer.values()))
        values.update(self._metrics(f"{self.prefix}_{OVERALL}", pooled))
        return values

    def _metrics(self, key: str, weights: np.ndarray) -> dict[str, float]:
        if not np.isfinite(weights).all():
            warnings.warn(f"WeightVarianceCallback: {key} holds NaN or infinite weights (a "
                          "diverged run?); its values are NaN.", RuntimeWarning, stacklevel=2)
            return dict.fromkeys((f"{key}/{metric}" for metric in METRICS), math.nan)
        v = float(np.mean(np.square(weights)))
        return {f"{key}/v": v, f"{key}/mean": float(np.mean(weights)),
                f"{key}/ratio": self._ratio(key, v)}

    def _ratio(self, key: str, v: float) -> float:
        if self.sigma0 is not None:
            return v / self.sigma0**2
        if self._initial_unknown:
            return math.nan
        reference = self._initial_v.setdefault(key, v)
        if reference > 0:
            return v / reference
        if v == reference:  # warn once, when the zero reference is taken
            warnings.warn(f"WeightVarianceCallback: {key} starts with all weights 0, so "
                          "its ratio to the initial V is undefined (NaN); pass sigma0 "
                          "for a fixed reference.", RuntimeWarning, stacklevel=2)
        return math.nan

    def _weights_of(self, layer) -> np.ndarray:
        tensors = [layer.kernel]
        if self.include_biases and getattr(layer, "bias", None) is not None:
            tensors.append(layer.bias)
        return np.concatenate(
            [np.ravel(keras.ops.convert_to_numpy(tensor)).astype("float64") for tensor in tensors]
        )

    def _layers(self, model: keras.Model) -> list:
        if model is None:
            raise ValueError(
                "WeightVarianceCallback has no model: pass it to "
                "`fit(callbacks=...)` or call `evaluate(model)`."
            )
        if self.layer_selection is None:
            layers = _kernel_layers(model)
        else:
            layers = [
                model.get_layer(item) if isinstance(item, str) else item
                for item in self.layer_selection
            ]
        if not layers:
            raise ValueError(
                f"The model {model.name!r} has no layer with a kernel to watch."
            )
        return layers


def _kernel_layers(model: keras.Model) -> list:
    """The model's top-level layers that hold a kernel now."""
    return [layer for layer in model.layers if hasattr(layer, "kernel")]
