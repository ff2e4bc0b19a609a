"""Keras callbacks of keras_detinit.

Example:

>>> from keras_detinit.callbacks import SkewnessCallback
>>> import numpy as np
>>> callback = SkewnessCallback(np.zeros((64, 8)), probe_size=32, seed=1)
"""

from keras_detinit.callbacks.skewness import SkewnessCallback
from keras_detinit.callbacks.weight_variance import WeightVarianceCallback

__all__ = ["SkewnessCallback"]
__all__ += ["WeightVarianceCallback"]
