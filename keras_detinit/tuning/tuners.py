"""KerasTuner's random, Bayesian and Hyperband tuners, as `tune` runs them.

Each class is KerasTuner's own with two additions: failed trials are
reported as they end (`keras_detinit.tuning.failures.ReportFailures`), and
TensorBoard is imported only when a TensorBoard callback is used.

Example:

>>> from keras_detinit.tuning.search_space import InitializerHyperModel
>>> tuner = make_tuner("random", InitializerHyperModel(), "val_accuracy",
...                    trials=4, epochs=2, seed=0,
...                    directory="runs")  # doctest: +SKIP
"""

from __future__ import annotations

import keras_tuner

from keras_detinit.tuning.failures import ReportFailures

#: Hyperband's reduction factor: trials train 1, 3, 9, ... epochs.
HYPERBAND_FACTOR = 3


class TensorBoardOnDemand:
    """Tuner mixin: import TensorBoard only for a TensorBoard callback.

    On the TensorFlow backend, KerasTuner 1.4 imports ``tensorboard`` in
    every trial, to add its hyperparameter logging to a TensorBoard
    callback, and fails the trial when the package is absent (TensorFlow no
    longer installs it). Without such a callback there is nothing to add.
    """

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


class RandomSearch(ReportFailures, TensorBoardOnDemand, keras_tuner.RandomSearch):
    """`keras_tuner.RandomSearch`, reporting failed trials."""


class BayesianOptimization(
    ReportFailures, TensorBoardOnDemand, keras_tuner.BayesianOptimization
):
    """`keras_tuner.BayesianOptimization` (needs scikit-learn), reporting failed trials."""


class Hyperband(ReportFailures, TensorBoardOnDemand, keras_tuner.Hyperband):
    """`keras_tuner.Hyperband`, reporting failed trials."""


TUNERS = {
    "random": RandomSearch,
    "bayesian": BayesianOptimization,
    "hyperband": Hyperband,
}


def make_tuner(
    name: str,
    hypermodel,
    objective: str,
    trials: int,
    epochs: int,
    seed: int,
    **kwargs,
) -> keras_tuner.Tuner:
    """One of `TUNERS`, maximizing ``objective`` over at most ``trials``.

    Args:
        name: ``"random"``, ``"bayesian"`` or ``"hyperband"``.
        hypermodel: The `keras_tuner.HyperModel`.
        objective: The metric to maximize, e.g. ``"val_accuracy"``.
        trials: Maximum number of trials; for Hyperband a cap on its
            schedule.
        epochs: Hyperband's ``max_epochs``; unused by the others.
        seed: Seed of the tuner's sampling, >= 0.
        **kwargs: Further arguments of KerasTuner's tuners (``directory``,
            ``project_name``, ``overwrite``, ``executions_per_trial``, ...).

    Returns:
        The tuner.
    """
    objective = keras_tuner.Objective(objective, direction="max")
    # KerasTuner reads seed 0 as "no seed" (``seed or random``).
    kwargs["seed"] = seed + 1
    if name == "hyperband":
        tuner = Hyperband(
            hypermodel, objective, max_epochs=epochs, factor=HYPERBAND_FACTOR, **kwargs
        )
        # Hyperband has no max_trials argument; its oracle honours the cap.
        tuner.oracle.max_trials = trials
        return tuner
    return TUNERS[name](hypermodel, objective, max_trials=trials, **kwargs)
