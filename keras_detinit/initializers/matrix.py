"""The base class of this package's matrix initializers.

Every scheme here is defined on the paper's matrix ``W`` (``m`` units by
``n`` inputs, see `keras_detinit.shapes`). `MatrixInitializer` does the
rest once: it checks the dtype, describes the kernel as a
`keras_detinit.shapes.MatrixView`, builds ``W^T`` of each block, applies
the projection offset, lays the result out as the kernel and casts it.

**Keras' axes.** On Keras 3.15+, ``EinsumDense`` (and so
``MultiHeadAttention``) derives which kernel axes are the inputs and which
the outputs from its equation, and hands them over as ``input_axes`` and
``output_axes`` to initializers that are ``VarianceScaling`` instances.
`MatrixInitializer` subclasses ``keras.initializers.VarianceScaling`` for
that reason only: its call, config and parameters are its own. With those
axes the matrix view uses the true fans, e.g. ``n = d_model`` and
``m = heads * head_dim`` for a query kernel ``(d_model, heads, head_dim)``.

**Distinct projections.** Where one layer holds several matrices of the
same shape (query, key and value; the gates of a recurrent cell), a
deterministic scheme would give them identical values. Projection ``p``
therefore shifts the inputs cyclically:
``W_p[i, j] = W_0[i, (j - s_p) mod n]`` with
``s_p = round(n * frac(p * GOLDEN_FRACTION)) mod n``, so any number of
projections are spread over the inputs. A permutation of the inputs keeps
every property a scheme states per unit (row variance, row sums,
``W W^T``), and ``p = 0`` is the scheme itself.

**Compiled on JAX.** A deterministic kernel depends only on the scheme's
config, the layout, the dtype and the projection, so on JAX it is built as
one program compiled once per such combination (see
`keras_detinit.initializers.compilation`). `matrix_t` therefore uses
``keras.ops`` only; checks and warnings belong in `check_view` and
`warn_view`, which run on every call. A subclass that cannot be traced
sets ``jit_compile = False``.

Example:

>>> class Ones(MatrixInitializer):
...     def matrix_t(self, view, dtype):
...         return keras.ops.ones((view.cols, view.rows), dtype=dtype)
>>> tuple(Ones()((3, 3, 4, 8)).shape)
(3, 3, 4, 8)
"""

from __future__ import annotations

import json
import math
from typing import Sequence

import keras
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers import compilation
from keras_detinit.initializers.seeding import SeededInitializer

#: ``(3 - sqrt(5)) / 2``: successive multiples of it, taken modulo 1, stay
#: well spread for any count (the golden-angle rule).
GOLDEN_FRACTION = (3.0 - math.sqrt(5.0)) / 2.0


class MatrixInitializer(keras.initializers.VarianceScaling):
    """Base class: a scheme defined on ``W``, laid out for any kernel.

    Subclasses implement `matrix_t` (``W^T`` of one block, shape
    ``(n, m)``) and, where a layout has no meaning for the scheme,
    `check_view`. ``VarianceScaling.__init__`` is deliberately not called.

    Args:
        input_axes: Kernel axes of the fan-in, or None for Keras' rule
            (last axis units). Pass both or neither.
        output_axes: Kernel axes of the units, or None.
    """

    #: Keras' ``EinsumDense`` copies ``seed`` into the config it re-creates
    #: the initializer from; deterministic schemes have none.
    seed = None
    #: Whether `kernel` runs as one compiled program on JAX: `matrix_t`
    #: uses ``keras.ops`` only and its values depend on the config alone.
    jit_compile = True

    def __init__(
        self,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        self.input_axes = _axes_list("input_axes", input_axes)
        self.output_axes = _axes_list("output_axes", output_axes)
        if (self.input_axes is None) != (self.output_axes is None):
            raise ValueError(
                "Pass both `input_axes` and `output_axes`, or neither. Received: "
                f"input_axes={input_axes!r}, output_axes={output_axes!r}"
            )

    def __call__(self, shape: Sequence[int], dtype=None):
        return self.kernel(self.view(shape), dtype)

    def view(self, shape: Sequence[int]) -> shapes.MatrixView:
        """The matrix view of ``shape`` under this initializer's axes.

        Args:
            shape: The Keras kernel shape.

        Returns:
            A `keras_detinit.shapes.MatrixView`.
        """
        return shapes.matrix_view(shape, self.input_axes, self.output_axes)

    def kernel(self, view: shapes.MatrixView, dtype=None, projection: int = 0):
        """Build the kernel described by ``view``.

        Args:
            view: The layout, e.g. from `keras_detinit.layer_view`.
            dtype: Floating dtype of the result; None for
                ``keras.config.floatx()``.
            projection: Index ``p >= 0`` of this matrix among the
                same-shaped ones of its layer; block ``b`` of a blocked view
                is projection ``p + b``.

        Returns:
            A tensor of shape ``view.kernel_shape``.

        Raises:
            ValueError: If the dtype is not floating, ``projection`` is
                negative, or the scheme has no meaning for this layout.
        """
        dtype = validation.float_dtype(dtype)
        projection = validation.check_int("projection", projection, low=0)
        self.check_view(view)
        self.warn_view(view)
        if not self.jit_compile:
            return self._build_kernel(view, dtype, projection)
        # Equal configs build equal kernels, so instances share programs.
        config = json.dumps(self.get_config(), sort_keys=True, default=repr)
        return compilation.call(
            self._build_kernel, view, dtype, projection, key=(type(self), config)
        )

    def _build_kernel(self, view: shapes.MatrixView, dtype: str, projection: int):
        blocks = [
            _shift_inputs(self.matrix_t(view, dtype), projection + block)
            for block in range(view.blocks)
        ]
        matrix_t = blocks[0] if len(blocks) == 1 else ops.concatenate(blocks, axis=1)
        return ops.cast(shapes.matrix_to_kernel(matrix_t, view, transposed=True), dtype)

    def matrix_t(self, view: shapes.MatrixView, dtype: str):
        """``W^T`` of one block, shape ``(view.cols, view.rows)``.

        Args:
            view: The kernel's matrix view.
            dtype: The requested floating dtype; a scheme may compute in
                another one, the result is cast.

        Returns:
            A tensor of shape ``(n, m)``.
        """
        raise NotImplementedError

    def check_view(self, view: shapes.MatrixView) -> None:
        """Raise a ValueError if the scheme has no meaning for ``view``.

        Args:
            view: The kernel's matrix view.
        """

    def warn_view(self, view: shapes.MatrixView) -> None:
        """Warn where the scheme serves ``view`` imperfectly; on every call.

        Args:
            view: The kernel's matrix view.
        """

    def get_config(self) -> dict:
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        # EinsumDense sets "seed" to the instance's seed, None for a
        # deterministic scheme, whose constructor takes no seed.
        if "seed" in config and config["seed"] is None:
            del config["seed"]
        return cls(**config)


class SeededMatrixInitializer(SeededInitializer, MatrixInitializer):
    """Base class of the random matrix schemes: a seed and Keras' axes.

    Args:
        seed: An int, a `keras.random.SeedGenerator`, or None (see
            `keras_detinit.initializers.seeding`).
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.
    """

    #: A draw advances a `keras.random.SeedGenerator`'s state, which a
    #: compiled program cannot do; random kernels run op by op.
    jit_compile = False

    def __init__(
        self,
        seed=None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(seed=seed, input_axes=input_axes, output_axes=output_axes)


def compute_dtype(dtype: str) -> str:
    """The dtype closed-form schemes compute in: float64 if asked, else float32.

    Half-precision kernels are computed in float32 and rounded once.
    """
    return "float64" if dtype == "float64" else "float32"


def projection_shift(inputs: int, projection: int) -> int:
    """``s_p``: the cyclic shift of the inputs for projection ``p``.

    Args:
        inputs: ``n``, the fan-in.
        projection: ``p >= 0``.

    Returns:
        ``round(n * frac(p * GOLDEN_FRACTION)) mod n``.

    Example:

    >>> [projection_shift(64, p) for p in range(4)]
    [0, 24, 49, 9]
    """
    return round(inputs * math.modf(projection * GOLDEN_FRACTION)[0]) % inputs


def _shift_inputs(matrix_t, projection: int):
    shift = projection_shift(ops.shape(matrix_t)[0], projection)
    return matrix_t if shift == 0 else ops.roll(matrix_t, shift, axis=0)


def _axes_list(name: str, axes) -> list[int] | None:
    if axes is None:
        return None
    try:
        values = [int(axis) for axis in axes]
    except (TypeError, ValueError):
        values = None
    if values is None or any(isinstance(axis, bool) for axis in axes):
        raise ValueError(
            f"`{name}` must be None or a list of integer kernel axes. "
            f"Received: {name}={axes!r}"
        )
    return values
