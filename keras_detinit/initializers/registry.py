"""Registration of this package's initializers with Keras.

`keras.saving.register_keras_serializable` makes a class reload from a saved
model (as ``"keras_detinit>ClassName"``), but a plain string such as
``kernel_initializer="sinusoidal"`` is looked up among Keras' custom
objects by that exact string. `register_initializer` does both, and also
registers the class name itself, so ``"Sinusoidal"`` resolves as
``"GlorotUniform"`` does for Keras' own initializers.

Example:

>>> @register_initializer("my_init")
... class MyInit(keras.initializers.Initializer):
...     def __call__(self, shape, dtype=None):
...         return keras.ops.zeros(shape, dtype=dtype)
>>> layer = keras.layers.Dense(2, kernel_initializer="my_init")
>>> type(keras.initializers.get("MyInit")).__name__
'MyInit'
"""

from __future__ import annotations

from typing import Callable

import keras

PACKAGE = "keras_detinit"

#: Short string name -> initializer class, for everything this package adds.
ALIASES: dict[str, type] = {}


def register_initializer(alias: str) -> Callable[[type], type]:
    """Class decorator: serializable under ``PACKAGE`` and usable as ``alias``.

    Args:
        alias: The short string name, e.g. ``"sinusoidal"``.

    Returns:
        The decorator, which returns the class unchanged.
    """

    def decorator(cls: type) -> type:
        cls = keras.saving.register_keras_serializable(package=PACKAGE)(cls)
        custom_objects = keras.saving.get_custom_objects()
        custom_objects[alias] = cls
        custom_objects.setdefault(cls.__name__, cls)  # never shadow another class
        ALIASES[alias] = cls
        return cls

    return decorator
