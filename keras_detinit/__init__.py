"""keras_detinit: weight initialization that matters, for Keras 3.

Importing the package registers its initializers with Keras under short
string names (see `keras_detinit.initializers.ALIASES`).

Example:

>>> import keras
>>> import keras_detinit
>>> model = keras.Sequential([
...     keras.Input((784,)),
...     keras.layers.Dense(64, activation="relu",
...                        kernel_initializer="sinusoidal"),
...     keras.layers.Dense(10),  # logits: see keras_detinit.protocol
... ])
"""

from keras_detinit import callbacks
from keras_detinit import datasets
from keras_detinit import diagnostics
from keras_detinit import initializers
from keras_detinit import layer_view
from keras_detinit import models
from keras_detinit import protocol
from keras_detinit import reinitialization
from keras_detinit import reporting
from keras_detinit import shapes
from keras_detinit.initializers import Sinusoidal
from keras_detinit.reinitialization import reinitialize

__version__ = "0.1.0"

__all__ = [
    "Sinusoidal",
    "callbacks",
    "datasets",
    "diagnostics",
    "initializers",
    "layer_view",
    "models",
    "protocol",
    "reinitialization",
    "reinitialize",
    "reporting",
    "shapes",
    "__version__",
]
