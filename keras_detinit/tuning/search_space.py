"""`InitializerHyperModel`: the papers' FFNN with a searchable initializer.

The search space (KerasTuner hyperparameter names):

* ``initializer``: a choice among the schemes (`keras_detinit.tuning.schemes`),
  registered by `keras_detinit.tuning.choose_initializer` with
* each scheme's own hyperparameters, log-uniform and active only when that
  scheme is chosen: ``sigma0`` (``"gaussian"``), ``epsilon``
  (``"epsilon_orthogonal"``), ``relative_noise`` (``"odd_sigmoid"``).
* ``learning_rate``: Adam's, log-uniform when given a range.
* ``depth``, ``width``, ``activation``: hyperparameters when given several
  values, fixed otherwise.

Example:

>>> import keras_tuner
>>> hypermodel = InitializerHyperModel(
...     input_shape=(28, 28), num_classes=10, depth=2, width=[16, 32],
...     schemes=("gaussian", "epsilon_orthogonal", "he_normal"),
...     ranges={"sigma0": (0.01, 1.0)})
>>> hp = keras_tuner.HyperParameters()
>>> model = hypermodel.build(hp)
>>> hp.values["initializer"], sorted(hp.values)
('gaussian', ['activation', 'depth', 'initializer', 'learning_rate', 'sigma0', 'width'])
"""

from __future__ import annotations

from typing import Mapping
from typing import Sequence

import keras
import keras_tuner

from keras_detinit import models
from keras_detinit import protocol as protocols
from keras_detinit import validation
from keras_detinit.tuning.choice import DEFAULT_SCHEMES
from keras_detinit.tuning.choice import check_activations
from keras_detinit.tuning.choice import choose_initializer
from keras_detinit.tuning.choice import resolve_ranges
from keras_detinit.tuning.choice import resolve_schemes
from keras_detinit.tuning.failures import NonFiniteLoss
from keras_detinit.tuning.schemes import LogRange
from keras_detinit.tuning.schemes import Scheme

class InitializerHyperModel(keras_tuner.HyperModel):
    """The papers' FFNN whose kernel initializer is searched.

    Every model is `keras_detinit.models.build_ffnn` (flatten, ``depth``
    hidden Dense layers of ``width`` units, a softmax output; one
    initializer for every kernel, zero biases), compiled by
    the papers' protocol (`keras_detinit.protocol.PAPER_PROTOCOL`: Adam,
    sparse categorical cross-entropy, accuracy, batch 100). See the module docstring for the
    hyperparameters.

    Each layer gets its own copy of the initializer, so layers of equal
    shape get different random draws. With ``seed`` set, every build starts
    from the same random state (`keras.utils.set_random_seed`): trials that
    differ only in ``sigma0`` draw the same standard normal weights, scaled
    differently, and shuffle the data alike.

    Args:
        input_shape: Shape of one example, e.g. ``(28, 28)``.
        num_classes: Number of classes, >= 2.
        depth: Number of hidden layers (>= 0), or a list of them to search.
        width: Units of every hidden layer (>= 1), or a list to search.
        activation: Hidden activation name, or a list of names to search.
        schemes: The initializer choices: names of registered schemes
            (``"gaussian"``, ``"epsilon_orthogonal"``, ``"odd_sigmoid"``),
            any initializer name Keras knows, or `Scheme` objects.
        ranges: Overrides of the schemes' default ranges, hyperparameter
            name -> ``(low, high)``, e.g. ``{"sigma0": (0.01, 1.0)}``.
        learning_rate: A number fixes Adam's learning rate; a
            ``(low, high)`` pair or `LogRange` searches it log-uniformly.
        batch_size: Batch size of `fit`, unless the search passes one.
        seed: Seed of every build, or None for unseeded builds.

    Raises:
        ValueError: For an unknown scheme, a range naming no hyperparameter
            of the chosen schemes, a scheme that cannot serve an activation
            choice (``"odd_sigmoid"`` with ``"relu"``), or any invalid value.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28),
        num_classes: int = 10,
        depth: int | Sequence[int] = 1,
        width: int | Sequence[int] = 16,
        activation: str | Sequence[str] = "relu",
        schemes: Sequence[str | Scheme] = DEFAULT_SCHEMES,
        ranges: Mapping[str, tuple[float, float] | LogRange] | None = None,
        learning_rate: float | tuple[float, float] | LogRange = 1e-3,
        batch_size: int = protocols.PAPER_PROTOCOL.batch_size,
        seed: int | None = 0,
        name: str | None = None,
    ):
        super().__init__(name=name)
        self.input_shape = tuple(input_shape)
        self.num_classes = validation.check_int("num_classes", num_classes, low=2)
        self.depth = _int_or_choices("depth", depth, low=0)
        self.width = _int_or_choices("width", width, low=1)
        self.activation = _activation_or_choices(activation)
        self.schemes = resolve_schemes(schemes)
        self.ranges = resolve_ranges(self.schemes, ranges or {})
        check_activations(
            self.schemes,
            self.ranges,
            self.activation if isinstance(self.activation, tuple) else (self.activation,),
        )
        self.learning_rate = _number_or_range("learning_rate", learning_rate)
        self.protocol = protocols.PAPER_PROTOCOL.replace(batch_size=batch_size)
        self.batch_size = self.protocol.batch_size
        self.seed = None if seed is None else validation.check_int("seed", seed, low=0)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        depth = _choose(hp, "depth", self.depth)
        width = _choose(hp, "width", self.width)
        activation = _choose(hp, "activation", self.activation)
        initializer = choose_initializer(
            hp, tuple(self.schemes.values()), self.ranges, activation
        )
        if isinstance(self.learning_rate, LogRange):
            learning_rate = hp.Float(
                "learning_rate",
                self.learning_rate.low,
                self.learning_rate.high,
                sampling="log",
            )
        else:
            learning_rate = hp.Fixed("learning_rate", self.learning_rate)
        model = models.build_ffnn(
            self.input_shape,
            [width] * depth,
            self.num_classes,
            activation,
            initializer,
        )
        return self.protocol.replace(learning_rate=learning_rate).compile(model)

    def fit(self, hp, model, x, y, *, callbacks=None, **kwargs):
        """`model.fit` under the protocol, with `NonFiniteLoss`.

        `NonFiniteLoss` comes first, so a NaN epoch fails the trial before
        KerasTuner records its metrics or saves its weights. Arguments the
        search passes (``epochs``, ``validation_data``...) take precedence.
        """
        callbacks = [NonFiniteLoss(), *(callbacks or [])]
        return self.protocol.fit(model, x, y, callbacks=callbacks, **kwargs)


def _choose(hp, name: str, value):
    if isinstance(value, tuple):
        return hp.Choice(name, list(value))
    return hp.Fixed(name, value)


def _int_or_choices(name: str, value, low: int):
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"`{name}` must not be an empty list. Received: {name}={value!r}")
        return tuple(validation.check_int(name, item, low=low) for item in value)
    return validation.check_int(name, value, low=low)


def _activation_or_choices(value):
    names = value if isinstance(value, (list, tuple)) else [value]
    unknown = [name for name in names if not _is_activation(name)]
    if unknown or not names:
        raise ValueError(
            f"`activation` must name Keras activations (one, or a non-empty "
            f"list). Received: activation={value!r}"
        )
    return tuple(names) if isinstance(value, (list, tuple)) else value


def _is_activation(name) -> bool:
    try:
        keras.activations.get(name)
    except (ValueError, TypeError):
        return False
    return True


def _number_or_range(name: str, value):
    if isinstance(value, (list, tuple, LogRange)):
        return LogRange.of(name, value)
    return validation.check_positive(name, value)
