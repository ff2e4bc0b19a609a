"""Initializers of keras_detinit, each usable by its short string name.

Importing `keras_detinit` registers every name below with Keras, so
``keras.layers.Dense(64, kernel_initializer="sinusoidal")`` works and saved
models reload without ``custom_objects``.

Example:

>>> import keras, keras_detinit
>>> layer = keras.layers.Dense(64, kernel_initializer="sinusoidal")
>>> "sinusoidal" in keras_detinit.initializers.ALIASES
True
"""

from keras_detinit.initializers.arcsine import Arcsine
from keras_detinit.initializers.epsilon_orthogonal import EpsilonOrthogonal
from keras_detinit.initializers.epsilon_orthogonal import epsilon_orthogonal_matrix
from keras_detinit.initializers.epsilon_orthogonal import epsilon_orthogonal_q
from keras_detinit.initializers.epsilon_orthogonal import epsilon_orthogonal_qr
from keras_detinit.initializers.gaussian_submatrix import GaussianSubmatrix
from keras_detinit.initializers.matrix import MatrixInitializer
from keras_detinit.initializers.odd_sigmoid import NoiseRule
from keras_detinit.initializers.odd_sigmoid import OddSigmoid
from keras_detinit.initializers.odd_sigmoid import relative_noise_for
from keras_detinit.initializers.randomized_asymmetric import RandomizedAsymmetric
from keras_detinit.initializers.registry import ALIASES
from keras_detinit.initializers.registry import register_initializer
from keras_detinit.initializers.sinusoidal import DegenerateRows
from keras_detinit.initializers.sinusoidal import Sinusoidal
from keras_detinit.initializers.zero_hadamard import ZerOHadamard

__all__ = ["ALIASES", "DegenerateRows", "Sinusoidal", "register_initializer"]
__all__ += [
    "Arcsine",
    "EpsilonOrthogonal",
    "GaussianSubmatrix",
    "MatrixInitializer",
    "RandomizedAsymmetric",
    "ZerOHadamard",
    "epsilon_orthogonal_matrix",
    "epsilon_orthogonal_q",
    "epsilon_orthogonal_qr",
]
__all__ += ["NoiseRule", "OddSigmoid", "relative_noise_for"]
