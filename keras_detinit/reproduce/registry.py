"""The experiments of ``keras-detinit reproduce``, by name.

Modules are imported when an experiment is asked for, so listing the names
costs nothing.

Example:

>>> sorted(EXPERIMENTS)[:3]
['convergence', 'depth', 'odd_sigmoid_data']
"""

from __future__ import annotations

import importlib

from keras_detinit.reproduce.experiment import Experiment

#: name -> (module under keras_detinit.reproduce.experiments, class, summary)
EXPERIMENTS = {
    "table1": ("table1", "Table1", "deep-narrow paper, Table 1: dataset size x width"),
    "table2": ("table2", "Table2", "deep-narrow paper, Table 2: activations at depth 120"),
    "depth": ("depth", "DepthSweep", "deep-narrow paper, Fig. 3: depth sweep"),
    "width": ("width", "WidthHeatmaps", "deep-narrow paper, Fig. 4/5: width heatmaps"),
    "skewness": ("skewness", "SkewnessTable", "Sinusoidal paper, Table 1: skewed neurons, OUI"),
    "sigma0": ("sigma0", "Sigma0Sweep", "optimal-variance paper, Sec. IV: sigma0 sweep"),
    "odd_sigmoid_scale": ("odd_sigmoid_scale", "OddSigmoidScale",
                          "odd-sigmoid paper: activation-scale robustness, 60 x 16 MLP"),
    "odd_sigmoid_data": ("odd_sigmoid_data", "OddSigmoidData",
                         "odd-sigmoid paper: data efficiency, 100 and 500 images"),
    "odd_sigmoid_signal": ("odd_sigmoid_signal", "OddSigmoidSignal",
                           "odd-sigmoid paper: forward signal propagation"),
    "convergence": ("convergence", "Convergence",
                    "Sinusoidal paper, Table 3: convergence of a CNN and a ViT"),
}


def get_experiment(experiment: str | Experiment) -> Experiment:
    """The experiment named ``experiment`` (an `Experiment` passes through).

    Raises:
        ValueError: For an unknown name, listing the known ones.
    """
    if isinstance(experiment, Experiment):
        return experiment
    if experiment not in EXPERIMENTS:
        raise ValueError(
            f"Unknown experiment {experiment!r}; choose one of {sorted(EXPERIMENTS)}."
        )
    module_name, class_name, _ = EXPERIMENTS[experiment]
    module = importlib.import_module(f"keras_detinit.reproduce.experiments.{module_name}")
    return getattr(module, class_name)()
