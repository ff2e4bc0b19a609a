"""`SkewnessCallback`: neuron-skewness diagnostics at init and every epoch."""

from __future__ import annotations

import copy
import math
import time
from typing import Sequence

import keras
import numpy as np
from keras import tree

from keras_detinit import validation
from keras_detinit.callbacks.logging import EpochZeroCallback
from keras_detinit.diagnostics import balance as balance_lib
from keras_detinit.diagnostics.probe import PreActivationProbe
from keras_detinit.diagnostics.summary import layer_summary
from keras_detinit.diagnostics.summary import metric_names

MEAN = "mean"


class SkewnessCallback(EpochZeroCallback):
    """Logs skewed-unit fractions, OUI, dead and always-active units.

    On a fixed probe batch, the callback computes for each probed layer the
    metrics of `keras_detinit.diagnostics.layer_summary` (on the layer's
    pre-activations): once at ``on_train_begin`` (*epoch 0*: the model as
    ``fit`` receives it, i.e. the initialization for a fresh model) and
    after every epoch. The probe model is built once per model.

    **Log keys** (``prefix="skew"``; ``<metric>`` is ``skewed_<alpha>`` per
    alpha, e.g. ``skewed_0.1``, then ``oui``, ``dead``, ``always_active``):

    * ``skew/<layer>/<metric>``: the value after this epoch, per layer.
    * ``skew_mean/<metric>``: its unweighted mean over the probed layers
      (over those where it is defined: a 1-unit layer has no OUI).
    * ``skew_init/<layer>/<metric>`` and ``skew_init_mean/<metric>``: the
      epoch-0 values, repeated in every epoch's logs.

    Keras has no logs at ``on_train_begin``, so the epoch-0 values travel in
    every epoch's logs under the ``skew_init`` keys (see
    `keras_detinit.callbacks.logging`): `keras.callbacks.History`
    and `keras.callbacks.CSVLogger` (placed after this callback) get a
    constant column for them, as long as the other columns, and TensorBoard a
    flat line. ``log_layers=False`` logs only the means;
    ``log_initial=False`` drops the ``skew_init`` keys.

    **Own record.** `history` maps each key of the first kind (without
    ``_init``) to a list indexed by epoch number: index 0 is the
    initialization, index ``k`` the state after ``k`` epochs of this
    ``fit``. `initial` holds the epoch-0 values, `seconds` the time each
    evaluation took.

    **Probe batch.** ``data`` is used as given when ``probe_size`` is None;
    otherwise ``probe_size`` samples are drawn from it without replacement
    with ``numpy.random.default_rng(seed)`` (all of it if it is smaller).
    Pass validation inputs, not labels: an array, or a list/dict of arrays
    for a multi-input model.

    The model must be Sequential or functional (see
    `keras_detinit.diagnostics.PreActivationProbe`); a subclassed model
    raises a `TypeError` that says what to do. The callback is
    deep-copyable (KerasTuner copies callbacks for each trial): a copy
    keeps the probe batch and settings, not the model or the probe.

    Args:
        data: Inputs to draw the probe batch from.
        probe_size: Number of probe samples (>= 2), or None for all of
            ``data``.
        layers: Layers to probe, by name or object; default: every
            top-level layer with a kernel (Dense, Conv, ...).
        alphas: Skewness degrees, each in ``(0, 1/2)``.
        method: ``"empirical"`` (default) or ``"gaussian"`` estimate of
            ``P(Z > 0)`` (see `keras_detinit.diagnostics.balance`).
        oui_pairs: Sample pairs per OUI (None: all pairs); the same pairs
            at every evaluation.
        seed: Seed of the probe draw and of the OUI pairs.
        prefix: First part of every log key.
        log_layers: Whether to log per-layer keys besides the means.
        log_initial: Whether to log the epoch-0 values (``_init`` keys).

    Example:

    >>> import keras, numpy as np
    >>> x = np.random.rand(256, 8).astype("float32")
    >>> y = np.random.rand(256, 1).astype("float32")
    >>> model = keras.Sequential([keras.Input((8,)),
    ...                           keras.layers.Dense(16, activation="relu"),
    ...                           keras.layers.Dense(1)])
    >>> model.compile("adam", "mse")
    >>> skew = SkewnessCallback(x, probe_size=128, seed=0)
    >>> history = model.fit(x, y, epochs=2, verbose=0, callbacks=[skew])
    >>> "skew_mean/skewed_0.3" in history.history
    True
    >>> len(skew.history["skew_mean/oui"])   # epoch 0, 1, 2
    3
    """

    def __init__(
        self,
        data,
        probe_size: int | None = 1024,
        layers: Sequence | None = None,
        alphas: Sequence[float] = (0.1, 0.3),
        method: str = "empirical",
        oui_pairs: int | None = 4096,
        seed: int = 0,
        prefix: str = "skew",
        log_layers: bool = True,
        log_initial: bool = True,
    ):
        super().__init__(prefix, log_initial)
        self.seed = validation.check_int("seed", seed, low=0)
        self.probe_data = _probe_batch(data, probe_size, self.seed)
        self.layer_selection = None if layers is None else list(layers)
        self.alphas = tuple(balance_lib.check_alpha(alpha) for alpha in alphas)
        if not self.alphas:
            raise ValueError("`alphas` must name at least one skewness degree.")
        self.method = validation.check_choice("method", method, balance_lib.METHODS)
        self.oui_pairs = (
            None if oui_pairs is None else validation.check_int("oui_pairs", oui_pairs)
        )
        self.log_layers = bool(log_layers)
        self.seconds: list[float] = []
        self._probe = None
        self._probed_model = None

    @property
    def metric_names(self) -> list[str]:
        """The per-layer metric names, e.g. ``["skewed_0.1", ..., "oui"]``."""
        return metric_names(self.alphas)

    def evaluate(self, model: keras.Model | None = None) -> dict[str, float]:
        """Compute every value now, keyed as in the logs (no ``_init`` keys).

        Args:
            model: The model to probe; default: the model being trained.

        Returns:
            Key -> value: per layer (if ``log_layers``) and the means.
        """
        model = model if model is not None else self.model
        start = time.perf_counter()
        pre_activations = self._probe_for(model)(self.probe_data)
        per_layer = {
            name: layer_summary(
                z, self.alphas, self.method, self.oui_pairs, self.seed,
                name=f"{type(self).__name__}, layer {name!r}",
            )
            for name, z in pre_activations.items()
        }
        # A diverged layer is NaN in every metric; its mean must be NaN too.
        diverged = any(np.isnan(summary["dead"]) for summary in per_layer.values())
        values = {}
        if self.log_layers:
            for name, summary in per_layer.items():
                for metric, value in summary.items():
                    values[f"{self.prefix}/{name}/{metric}"] = value
        for metric in self.metric_names:
            values[f"{self.prefix}_{MEAN}/{metric}"] = math.nan if diverged else (
                _mean_of_defined([summary[metric] for summary in per_layer.values()]))
        self.seconds.append(time.perf_counter() - start)
        return values

    def reset(self) -> None:
        self.seconds = []

    def __deepcopy__(self, memo):
        # The model, probe and records stay behind: a copy starts afresh.
        duplicate = type(self)(
            copy.deepcopy(self.probe_data, memo),
            probe_size=None,
            layers=self.layer_selection,
            alphas=self.alphas,
            method=self.method,
            oui_pairs=self.oui_pairs,
            seed=self.seed,
            prefix=self.prefix,
            log_layers=self.log_layers,
            log_initial=self.log_initial,
        )
        memo[id(self)] = duplicate
        return duplicate

    def _probe_for(self, model: keras.Model) -> PreActivationProbe:
        if model is None:
            raise ValueError(
                "SkewnessCallback has no model: pass it to `fit(callbacks=...)` "
                "or call `evaluate(model)`."
            )
        if self._probed_model is not model:
            self._probe = PreActivationProbe(
                model, self.layer_selection, sample_input=self.probe_data
            )
            self._probed_model = model
        return self._probe


def _mean_of_defined(values: list[float]) -> float:
    """Mean of the non-NaN values (a 1-unit layer has no OUI); NaN if none."""
    defined = [value for value in values if not np.isnan(value)]
    return float(np.mean(defined)) if defined else float("nan")


def _probe_batch(data, probe_size: int | None, seed: int):
    """The probe inputs: ``data`` itself, or a seeded draw of its rows."""
    arrays = tree.map_structure(np.asarray, data)
    sizes = {len(array) for array in tree.flatten(arrays)}
    if len(sizes) != 1:
        raise ValueError(
            "Every input array in `data` must have the same number of samples. "
            f"Received sizes: {sorted(sizes)}"
        )
    available = sizes.pop()
    if probe_size is None or probe_size >= available:
        chosen = available
        rows = None
    else:
        chosen = validation.check_int("probe_size", probe_size, low=2)
        rows = np.sort(np.random.default_rng(seed).choice(available, chosen, replace=False))
    if chosen < 2:
        raise ValueError(
            f"The probe batch needs at least 2 samples. Received: {available}"
        )
    if rows is None:
        return arrays
    return tree.map_structure(lambda array: array[rows], arrays)
