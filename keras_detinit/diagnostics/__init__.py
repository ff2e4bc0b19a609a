"""Neuron-skewness diagnostics of "Sinusoidal Initialization" (Sec. 3.2).

* `balance`: per-unit ``P(Z > 0)`` (empirical or Gaussian), skewed units
  (Definition 1), dead and always-active units.
* `statistic_s`: the statistic ``S`` of each unit and Theorem 1's
  threshold ``lambda_n(alpha)``.
* `oui`: the Overfitting-Underfitting Indicator.
* `probe`: pre-activations of a model's layers.
* `summary`: all of the above for one layer, as named numbers.

Example:

>>> import keras, numpy as np
>>> from keras_detinit import diagnostics
>>> model = keras.Sequential([keras.Input((8,)),
...                           keras.layers.Dense(16, activation="relu", name="hidden")])
>>> z = diagnostics.PreActivationProbe(model)(np.random.rand(64, 8))
>>> fraction = diagnostics.skewed_fraction(z["hidden"], alpha=0.3)
"""

from keras_detinit.diagnostics.balance import METHODS
from keras_detinit.diagnostics.balance import activation_balance
from keras_detinit.diagnostics.balance import always_active_fraction
from keras_detinit.diagnostics.balance import estimate_balance
from keras_detinit.diagnostics.balance import dead_fraction
from keras_detinit.diagnostics.balance import gaussian_balance
from keras_detinit.diagnostics.balance import skewed_fraction
from keras_detinit.diagnostics.balance import skewed_units
from keras_detinit.diagnostics.oui import activation_patterns
from keras_detinit.diagnostics.oui import oui
from keras_detinit.diagnostics.probe import PreActivationProbe
from keras_detinit.diagnostics.probe import select_layers
from keras_detinit.diagnostics.statistic_s import predicted_skewed
from keras_detinit.diagnostics.statistic_s import skewness_threshold
from keras_detinit.diagnostics.statistic_s import statistic_s
from keras_detinit.diagnostics.summary import layer_summary
from keras_detinit.diagnostics.summary import metric_names

__all__ = [
    "METHODS",
    "PreActivationProbe",
    "activation_balance",
    "activation_patterns",
    "always_active_fraction",
    "dead_fraction",
    "estimate_balance",
    "gaussian_balance",
    "layer_summary",
    "metric_names",
    "oui",
    "predicted_skewed",
    "select_layers",
    "skewed_fraction",
    "skewed_units",
    "skewness_threshold",
    "statistic_s",
]
