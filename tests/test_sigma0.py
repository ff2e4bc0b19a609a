"""optimal_sigma0 on a problem whose steady-state V is known; ratio_crossings."""

import math

import keras
import numpy as np
import pytest

from keras_detinit import protocol as protocols
from keras_detinit.sigma0 import optimal_sigma0
from keras_detinit.sigma0 import ratio_crossings
from keras_detinit.sigma0 import run_pilot
from keras_detinit.sigma0 import train_watched

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


# -- ratio_crossings -------------------------------------------------------------

GRID = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]


@pytest.mark.parametrize("star, slope", [(0.15, 0.5), (0.123, 2.0), (0.31, 0.05)])
def test_power_law_crosses_exactly_at_its_root(star, slope):
    # log r is linear in log sigma0 for r = (star / sigma0)^slope, so the
    # log-log interpolation is exact wherever the root falls in the grid.
    ratio = [(star / sigma0) ** slope for sigma0 in GRID]
    (crossing,) = ratio_crossings(GRID, ratio)
    assert crossing == pytest.approx(star, rel=1e-12)


def test_crossings_on_and_between_grid_points():
    assert ratio_crossings(GRID[:3], [1.1, 1.0, 0.9]) == [0.1]  # on a point, counted once
    assert ratio_crossings(GRID[:3], [1.1, 1.05, 1.01]) == []
    up_and_down = ratio_crossings(GRID[:4], [0.99, 1.01, 1.01, 0.99])
    assert len(up_and_down) == 2
    assert GRID[0] < up_and_down[0] < GRID[1] and GRID[2] < up_and_down[1] < GRID[3]


def test_bisection_interpolates_as_ratio_crossings():
    result = optimal_sigma0(build, *problem(), lower=0.02, upper=1.0, epochs=8,
                            batch_size=16, max_pilots=3, tolerance=1e-6, seed=0)
    # Three pilots: both bounds, then the geometric middle; the estimate is
    # the crossing inside the final bracket.
    pilots = sorted(result.trace, key=lambda pilot: pilot.sigma0)
    crossings = ratio_crossings([p.sigma0 for p in pilots], [p.ratio for p in pilots])
    assert result.sigma0 == pytest.approx(crossings[0], rel=1e-12) and len(crossings) == 1


@pytest.mark.parametrize("sigma0, ratio, message", [
    ([0.1, 0.2], [1.1], "one value per grid point"),
    ([0.2, 0.1], [1.1, 0.9], "`sigma0` must increase"),
    ([0.0, 0.1], [1.1, 0.9], "sigma0"),
    ([0.1, 0.2], [1.1, float("nan")], "finite and > 0"),
    ([0.1, 0.2], [1.1, -0.5], "finite and > 0"),
])
def test_ratio_crossings_rejects_bad_input(sigma0, ratio, message):
    with pytest.raises(ValueError, match=message):
        ratio_crossings(sigma0, ratio)


def test_a_compiled_softmax_model_is_warned_about():
    def softmax_build(initializer):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
            2, activation="softmax", kernel_initializer=initializer)])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        return model

    x = np.zeros((8, 4), "float32")
    y = np.zeros(8, "int32")
    with pytest.warns(UserWarning, match="ends in a softmax"):
        train_watched(softmax_build, (x, y), 0.1, 0,
                      protocols.PAPER_PROTOCOL.replace(epochs=1, batch_size=8))
