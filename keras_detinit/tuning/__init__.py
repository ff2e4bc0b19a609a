"""KerasTuner search over the initialization: scheme, sigma0 and epsilon.

Needs the ``tuner`` extra (``pip install keras-detinit[tuner]``); import it
as ``from keras_detinit import tuning``. `tune` runs a whole search of the
papers' FFNN and reports it; `InitializerHyperModel` is that search space,
for use with any KerasTuner tuner; `choose_initializer` puts the same
initializer choice into any model's ``build_model(hp)``; `register_scheme`
adds an initializer scheme with hyperparameters of its own;
`sigma0_range` centres the ``sigma0`` range on an `optimal_sigma0`
estimate; `worker_environments` pins one distributed worker per GPU.

Example:

>>> from keras_detinit import tuning
>>> result = tuning.tune("mnist", samples_per_class=10, trials=6,
...                      epochs=3)  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
"""

from keras_detinit.devices import describe_device
from keras_detinit.tuning.choice import DEFAULT_SCHEMES
from keras_detinit.tuning.choice import choose_initializer
from keras_detinit.tuning.estimate import compare_sigma0
from keras_detinit.tuning.estimate import sigma0_range
from keras_detinit.tuning.failures import NonFiniteLoss
from keras_detinit.tuning.results import TrialRecord
from keras_detinit.tuning.results import collect_records
from keras_detinit.tuning.results import format_summary
from keras_detinit.tuning.schemes import LogRange
from keras_detinit.tuning.schemes import SCHEMES
from keras_detinit.tuning.schemes import Scheme
from keras_detinit.tuning.schemes import get_scheme
from keras_detinit.tuning.schemes import register_scheme
from keras_detinit.tuning.search import TuningResult
from keras_detinit.tuning.search import distributed_role
from keras_detinit.tuning.search import tune
from keras_detinit.tuning.search_space import InitializerHyperModel
from keras_detinit.tuning.tuners import TUNERS
from keras_detinit.tuning.workers import chief_environment
from keras_detinit.tuning.workers import worker_environments

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
    "chief_environment",
    "choose_initializer",
    "collect_records",
    "compare_sigma0",
    "describe_device",
    "distributed_role",
    "format_summary",
    "get_scheme",
    "register_scheme",
    "sigma0_range",
    "tune",
    "worker_environments",
]
