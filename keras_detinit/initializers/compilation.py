"""One compiled program per deterministic kernel on JAX.

JAX runs ``keras.ops`` eagerly by compiling each operation for every new
shape it meets. A closed-form scheme is a few dozen small operations, so
the first kernel of each new shape paid a few dozen compilations (about a
second on one CPU core, several under load) before any value was computed.
`call` traces the whole construction instead and compiles it once, as one
program, for each distinct set of arguments; XLA also fuses its
element-wise work, so later calls run faster too. On TensorFlow and
PyTorch it calls the function as it is.

What may run this way: a function of hashable arguments (Python ints,
floats, strings, tuples, frozen dataclasses) that uses ``keras.ops`` only
and whose result depends on those arguments alone. Checks, warnings and
anything else that must happen on every call stay outside it: a compiled
program runs the Python code once, when it is first traced.

Example:

>>> def ramp(length, dtype):
...     return keras.ops.arange(length, dtype=dtype) / length
>>> keras.ops.convert_to_numpy(call(ramp, 4, "float32")).tolist()
[0.0, 0.25, 0.5, 0.75]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Hashable

import keras


def call(function: Callable, *args: Hashable, key: Hashable = None):
    """Return ``function(*args)``; on JAX as one program compiled per ``args``.

    Args:
        function: A function of ``args`` built from ``keras.ops``.
        *args: Hashable arguments; each distinct tuple compiles once.
        key: What identifies ``function`` in the cache, when its identity
            does not: e.g. the class and config of the initializer whose
            bound method it is, so that equal initializers share programs.
            None: the function itself.

    Returns:
        What ``function(*args)`` returns.
    """
    if keras.backend.backend() != "jax":
        return function(*args)
    return _jitted()(_Program(function, args, function if key is None else key))


class _Program:
    """A function and its arguments, equal to any other with the same key."""

    __slots__ = ("function", "args", "key")

    def __init__(self, function: Callable, args: tuple, key: Hashable):
        self.function, self.args, self.key = function, args, key

    def __hash__(self) -> int:
        return hash((self.key, self.args))

    def __eq__(self, other) -> bool:
        return isinstance(other, _Program) and (self.key, self.args) == (
            other.key,
            other.args,
        )

    def run(self):
        return self.function(*self.args)


@functools.cache
def _jitted():
    import jax  # Only the JAX backend gets here.

    return jax.jit(_Program.run, static_argnums=0)
