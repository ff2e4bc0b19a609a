"""KerasTuner search over the initialization: scheme, sigma0 and epsilon.

Needs the ``tuner`` extra (``pip install keras-detinit[tuner]``); import it
as ``from keras_detinit import tuning``. `tune` runs a whole search and
reports it; `InitializerHyperModel` is the search space, for use with any
KerasTuner tuner; `register_scheme` adds an initializer scheme with
hyperparameters of its own.

Example:

>>> from keras_detinit import tuning
>>> result = tuning.tune("mnist", samples_per_class=10, trials=6,
...                      epochs=3)  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
"""

from keras_detinit.tuning.failures import NonFiniteLoss
from keras_detinit.tuning.results import TrialRecord
from keras_detinit.tuning.schemes import LogRange
from keras_detinit.tuning.schemes import SCHEMES
from keras_detinit.tuning.schemes import Scheme
from keras_detinit.tuning.schemes import get_scheme
from keras_detinit.tuning.schemes import register_scheme
from keras_detinit.tuning.search import TuningResult
from keras_detinit.devices import describe_device
from keras_detinit.tuning.search import distributed_role
from keras_detinit.tuning.search import tune
from keras_detinit.tuning.search_space import DEFAULT_SCHEMES
from keras_detinit.tuning.search_space import InitializerHyperModel
from keras_detinit.tuning.tuners import TUNERS

__all__ = [
    "DEFAULT_SCHEMES",
    "InitializerHyperModel",
    "LogRange",
    "NonFiniteLoss",
    "SCHEMES",
    "Scheme",
    "TUNERS",
    "TrialRecord",
    "TuningResult",
    "describe_device",
    "distributed_role",
    "get_scheme",
    "register_scheme",
    "tune",
]
