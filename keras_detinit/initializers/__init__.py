"""Initializers of keras_detinit, each usable by its short string name.

Importing `keras_detinit` registers every name below with Keras, so
``keras.layers.Dense(64, kernel_initializer="sinusoidal")`` works and saved
models reload without ``custom_objects``.

Example:

>>> import keras, keras_detinit
>>> layer = keras.layers.Dense(64, kernel_initializer="sinusoidal")
>>> sorted(keras_detinit.initializers.ALIASES)[:1]
['sinusoidal']
"""

from keras_detinit.initializers.registry import ALIASES
from keras_detinit.initializers.registry import register_initializer
from keras_detinit.initializers.sinusoidal import DegenerateRows
from keras_detinit.initializers.sinusoidal import Sinusoidal

__all__ = ["ALIASES", "DegenerateRows", "Sinusoidal", "register_initializer"]
