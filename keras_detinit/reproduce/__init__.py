"""Reproductions of the papers' experiments: ``keras-detinit reproduce``.

Each experiment (a table or figure of a paper) runs every configuration
once per seed, writes one CSV row per (configuration, seed) as it goes,
can be resumed, and ends with a markdown report of mean ± std beside the
paper's values, PNG figures and the command that made them. Profiles:
``paper`` is the paper's protocol (meant for a GPU), ``quick`` a reduction
that finishes on a 2-core CPU (``sigma0`` also has ``long``, the paper's
training length on less data); the reductions are printed and written into
the report.

Example:

>>> from keras_detinit import reproduce
>>> sorted(reproduce.EXPERIMENTS)  # doctest: +NORMALIZE_WHITESPACE
['convergence', 'depth', 'odd_sigmoid_data', 'odd_sigmoid_scale', 'odd_sigmoid_signal',
 'sigma0', 'skewness', 'table1', 'table2', 'width']
>>> outcome = reproduce.reproduce("width", profile="quick",
...                               data_dir="../shared/data")  # doctest: +SKIP

From the command line:

    keras-detinit reproduce table1 --profile quick --data-dir ../shared/data
"""

from keras_detinit.reproduce.experiment import PROFILES
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.registry import EXPERIMENTS
from keras_detinit.reproduce.registry import get_experiment
from keras_detinit.reporting.results import Results
from keras_detinit.reproduce.runner import Outcome
from keras_detinit.reproduce.runner import reproduce
from keras_detinit.reproduce.training import convergence_metrics
from keras_detinit.reproduce.training import train_classifier

__all__ = [
    "EXPERIMENTS",
    "PROFILES",
    "Experiment",
    "Outcome",
    "Profile",
    "Results",
    "convergence_metrics",
    "get_experiment",
    "reproduce",
    "train_classifier",
]
