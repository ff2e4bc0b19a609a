"""optimal_sigma0 on a problem whose steady-state V is known."""

import math

import keras
import numpy as np
import pytest

from keras_detinit.sigma0 import optimal_sigma0
from keras_detinit.sigma0 import run_pilot

# Least squares y = x w* has one minimum; SGD ends there from any start,
# so V(W, T) = mean(w*^2) and V / sigma0^2 = 1 at sigma0 = sqrt(mean(w*^2)).
W_STAR = np.array([0.3, -0.2, 0.25, -0.15])
SIGMA_STAR = math.sqrt(np.mean(W_STAR**2))


def problem():
    x = np.random.default_rng(0).normal(size=(128, 4)).astype("float32")
    return x, (x @ W_STAR).astype("float32")[:, None]


def build(initializer):
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(1, use_bias=False, kernel_initializer=initializer),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_bisection_finds_the_crossing():
    result = optimal_sigma0(build, *problem(), lower=0.02, upper=1.0, epochs=8,
                            batch_size=16, max_pilots=8, tolerance=0.01, seed=0)
    assert result.bracketed and result.method == "bisection"
    assert result.sigma0 == pytest.approx(SIGMA_STAR, rel=0.02)
    assert result.trace[0].ratio > 1 > result.trace[1].ratio
    assert [p.sigma0 for p in result.trace[:2]] == [0.02, 1.0]


def test_fixed_point_converges_in_two_pilots():
    result = optimal_sigma0(build, *problem(), lower=0.02, upper=1.0, epochs=8,
                            batch_size=16, method="fixed_point", max_pilots=4,
                            tolerance=0.01)
    assert result.converged and len(result.trace) == 2
    assert result.sigma0 == pytest.approx(SIGMA_STAR, rel=0.01)


def test_deterministic_given_the_seed():
    first = run_pilot(build, *problem(), sigma0=0.5, epochs=1, batch_size=16, seed=3)
    second = run_pilot(build, *problem(), sigma0=0.5, epochs=1, batch_size=16, seed=3)
    assert first == second
    assert first.ratio == pytest.approx(first.v / 0.25)


def test_no_crossing_between_the_bounds_is_reported():
    result = optimal_sigma0(build, *problem(), lower=0.5, upper=1.0, epochs=8,
                            batch_size=16, max_pilots=4)
    assert not result.bracketed and not result.converged
    assert result.sigma0 == 0.5 and len(result.trace) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [({"lower": 0.0}, "lower"), ({"upper": -1.0}, "upper"),
     ({"lower": 0.5, "upper": 0.1}, "below"), ({"method": "newton"}, "method")],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimal_sigma0(build, *problem(), **kwargs)
