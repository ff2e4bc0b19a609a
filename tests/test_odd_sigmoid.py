"""The odd-sigmoid activation class and the OddSigmoid initializer."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_detinit  # noqa: F401  (registers "odd_sigmoid")
from keras_detinit.activations import KNOWN
from keras_detinit.activations import OddSigmoidActivation
from keras_detinit.initializers import OddSigmoid
from keras_detinit.initializers import relative_noise_for
from keras_detinit.initializers.odd_sigmoid import BAND_FLOOR
from keras_detinit.initializers.odd_sigmoid import BAND_WIDTH_MARGIN
from keras_detinit.initializers.odd_sigmoid import DEFAULT_FLOOR
from keras_detinit.initializers.odd_sigmoid import MIN_RELATIVE_NOISE
from keras_detinit.initializers.odd_sigmoid import LengthMap
from keras_detinit.initializers.odd_sigmoid import finite_width_floor


def numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype="float64")


# --- the activation class -------------------------------------------------


def tanh_steep(x):
    return ops.tanh(3.0 * x)


def tanh_cubic(x):
    """In the class, but convex near 0: w < 1 / f'(0)."""
    return ops.tanh(x + x**3)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_closed_forms_match_the_numerical_measurement(name):
    exact = OddSigmoidActivation(name)
    # The same function as an unnamed callable takes the numerical path.
    measured = OddSigmoidActivation(lambda x: KNOWN[name].function(x))
    assert measured.name == ""
    # softsign's second derivative jumps at 0, which limits the difference
    # quotient to about 1e-3.
    assert measured.slope == pytest.approx(exact.slope, rel=2e-3)
    assert measured.bound == pytest.approx(exact.bound, rel=1e-5)
    assert measured.critical_scaling == pytest.approx(exact.critical_scaling, rel=2e-3)


def test_known_members_in_closed_form():
    erf = OddSigmoidActivation("erf")
    assert erf.slope == 2 / math.sqrt(math.pi)
    assert erf.critical_scaling == pytest.approx(math.sqrt(math.pi) / 2, rel=1e-15)
    x = np.linspace(-3, 3, 7)
    assert numpy(OddSigmoidActivation("isru")(x)) == pytest.approx(x / np.sqrt(1 + x**2), rel=1e-6)


def test_scaled_variant_divides_the_critical_scaling():
    act = OddSigmoidActivation.scaled("tanh", 4.0)
    assert (act.slope, act.bound, act.critical_scaling) == (4.0, 1.0, 0.25)
    assert numpy(act(np.array([0.1, 0.5]))) == pytest.approx(np.tanh([0.4, 2.0]), rel=1e-6)
    # The same scaling hidden in a callable is found numerically.
    assert OddSigmoidActivation(tanh_steep).critical_scaling == pytest.approx(1 / 3, rel=1e-4)


def test_critical_scaling_of_a_member_not_concave():
    act = OddSigmoidActivation(tanh_cubic)
    y = np.geomspace(1e-3, 10, 200001)
    expected = np.min(y / np.tanh(y + y**3))
    assert act.slope == pytest.approx(1.0, rel=1e-4)
    assert act.critical_scaling == pytest.approx(expected, rel=1e-4)
    assert act.critical_scaling < 0.9 / act.slope


def test_custom_bound_is_measured():
    act = OddSigmoidActivation(ops.arctan)
    assert act.bound == pytest.approx(math.pi / 2, rel=1e-6)
    assert act.critical_scaling == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("relu", "not odd"),
        ("sigmoid", "not odd"),
        ("gelu", "not odd"),
        ("linear", "not bounded"),
        ("tanh_shrink", "not bounded"),
        ("hard_tanh", "slope jumps"),
        ("hard_shrink", "not bounded"),
    ],
)
def test_activations_outside_the_class_are_rejected(name, reason):
    with pytest.raises(ValueError, match=f"'{name}' is not in the odd-sigmoid class.*{reason}"):
        OddSigmoidActivation(name)


def test_kinked_member_is_rejected():
    def kinked(x):  # odd, bounded, increasing, slope jumps at |x| = 1
        return ops.where(ops.abs(x) < 1, x, ops.sign(x) * (1 + ops.tanh(ops.abs(x) - 1) / 10))

    with pytest.raises(ValueError, match="slope jumps"):
        OddSigmoidActivation(kinked)


def test_invalid_scale_and_identifier():
    with pytest.raises(ValueError, match="scale"):
        OddSigmoidActivation("tanh", 0.0)
    with pytest.raises(ValueError, match="activation"):
        OddSigmoidActivation(3)


def test_second_moment_small_signal_expansion():
    # tanh(u)^2 = u^2 - 2/3 u^4 + 17/45 u^6 - ..., so for u ~ N(0, v):
    # E[tanh(u)^2] = v - 2 v^2 + 17/3 v^3 + O(v^4).
    v = np.array([1e-3, 1e-2])
    moments = OddSigmoidActivation("tanh").second_moment(v)
    for value, moment in zip(v, moments):
        expected = value - 2 * value**2 + 17 / 3 * value**3
        # float32 evaluation (JAX) limits the agreement to about 1e-7.
        assert moment == pytest.approx(expected, rel=1e-6 + 30 * value**3)
    assert OddSigmoidActivation("softsign").second_moment([1e8])[0] == pytest.approx(1, abs=1e-3)


def test_activation_config_round_trip():
    act = OddSigmoidActivation.scaled("softsign", 2.5)
    assert act.get_config() == {"activation": "softsign", "scale": 2.5}
    again = OddSigmoidActivation.get(act.get_config())
    assert (again.name, again.scale) == ("softsign", 2.5)
    assert OddSigmoidActivation.get(act, 2.0).scale == 5.0
    assert OddSigmoidActivation(keras.activations.tanh).name == "tanh"
    with pytest.raises(ValueError, match="no name"):
        OddSigmoidActivation(lambda x: ops.tanh(x)).get_config()


# --- the noise rule -------------------------------------------------------


def test_rule_small_signal_limit_for_tanh():
    # Deep limit: the fixed point of q = E[tanh(u)^2], u ~ N(0, (1+a^2) q),
    # sits at the floor p. With E[tanh(u)^2] = v - 2 v^2 this gives
    # a^2 = 2 p (1 + a^2)^2.
    p = 0.01
    a2 = 2 * p
    for _ in range(50):
        a2 = 2 * p * (1 + a2) ** 2
    assert relative_noise_for("tanh", 5000, floor=p) == pytest.approx(math.sqrt(a2), rel=0.02)


def test_rule_is_the_smallest_noise_holding_the_floor():
    depth, floor = 100, 0.05
    alpha = relative_noise_for("softsign", depth, floor)
    length_map = LengthMap("softsign")
    assert length_map.trajectory(1.0, alpha, depth).min() >= floor
    assert length_map.trajectory(1.0, 0.98 * alpha, depth).min() < floor


def test_rule_grows_with_depth_and_ignores_the_scale():
    depths = [1, 10, 30, 100]
    alphas = [relative_noise_for("tanh", depth, BAND_FLOOR) for depth in depths]
    assert alphas[0] == MIN_RELATIVE_NOISE
    assert alphas == sorted(alphas) and alphas[-1] > 3 * MIN_RELATIVE_NOISE
    steep = OddSigmoidActivation.scaled("tanh", 4.0)
    assert relative_noise_for(steep, 100, BAND_FLOOR) == pytest.approx(alphas[-1], rel=1e-9)


def test_rule_grows_with_the_floor():
    alphas = [relative_noise_for("softsign", 60, floor) for floor in (0.01, 0.02, 0.05, 0.1)]
    assert alphas == sorted(alphas) and len(set(alphas)) == 4
    assert relative_noise_for("tanh", 60) == relative_noise_for("tanh", 60, DEFAULT_FLOOR)


# --- the finite-width margin ----------------------------------------------


def test_finite_width_floor_formula():
    assert finite_width_floor(0.05, 0.0, 8) == 0.05
    assert finite_width_floor(0.05, 3.0, 8) == pytest.approx(0.05 * math.exp(1.5))
    assert finite_width_floor(0.05, 3.0, 200) == pytest.approx(0.05 * math.exp(0.3))
    with pytest.raises(ValueError, match=r"width_margin.*fan_in=2.*below 1"):
        finite_width_floor(0.05, BAND_WIDTH_MARGIN, 2)


def test_width_margin_raises_the_noise_of_narrow_layers_only():
    plain = OddSigmoid("tanh", floor=BAND_FLOOR)
    band = OddSigmoid("tanh", floor=BAND_FLOOR, width_margin=BAND_WIDTH_MARGIN)
    alphas = [band.rule((n, n)).relative_noise for n in (8, 32, 256, 4096)]
    assert alphas == sorted(alphas, reverse=True)
    assert alphas[0] > 2 * plain.rule((8, 8)).relative_noise
    assert alphas[-1] == pytest.approx(plain.rule((8, 8)).relative_noise, rel=0.05)
    expected = relative_noise_for("tanh", 100, finite_width_floor(BAND_FLOOR, BAND_WIDTH_MARGIN, 32))
    assert band.rule((32, 64)).relative_noise == expected
    # An explicit relative noise is used as given.
    assert OddSigmoid(width_margin=3.0, relative_noise=0.3).rule((8, 8)).relative_noise == 0.3
    with pytest.raises(ValueError, match="width_margin"):
        OddSigmoid(width_margin=-1.0)
    with pytest.raises(ValueError, match="width_margin"):
        band((2, 2))


@pytest.mark.parametrize("activation", ["tanh", "softsign"])
def test_band_setting_holds_the_measured_second_moment_in_the_band(activation):
    # The mean field alone puts the fixed point on the floor; the margin must
    # keep the measured (finite-width) second moment above it at every layer.
    act = OddSigmoidActivation(activation)
    width, depth = 32, 50
    for seed in (0, 1):
        generator = keras.random.SeedGenerator(seed)
        init = OddSigmoid(act, target_depth=depth, floor=BAND_FLOOR,
                          width_margin=BAND_WIDTH_MARGIN, seed=generator)
        x = keras.random.normal((1000, width), seed=generator)
        for _ in range(depth):
            x = act(ops.matmul(x, init((width, width))))
            values = numpy(x)
            assert BAND_FLOOR <= np.mean(values**2) <= 0.95
            assert np.mean(np.abs(values) > 0.99) <= 0.10


# --- the initializer -------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_without_noise_it_is_the_scaled_cyclic_identity(shape):
    init = OddSigmoid("tanh", activation_scale=2.0, noise_stddev=0.0)
    kernel = numpy(init(shape))
    n, m = shape  # Keras (inputs, units); the paper's W is (m, n)
    expected = np.zeros(shape)
    for i in range(m):
        expected[i % n, i] = 0.5  # g = w = 1 / b
    assert kernel == pytest.approx(expected)


def test_noise_scale_follows_the_rule():
    init = OddSigmoid("tanh", activation_scale=2.0, relative_noise=0.4, seed=3)
    rule = init.rule((256, 256))
    assert rule.gain == 0.5 and rule.noise_stddev == pytest.approx(0.4 * 0.5 / 16)
    kernel = numpy(init((256, 256)))
    off_diagonal = kernel[~np.eye(256, dtype=bool)]
    assert off_diagonal.std() == pytest.approx(rule.noise_stddev, rel=0.02)
    assert np.diag(kernel).mean() == pytest.approx(0.5, abs=3 * rule.noise_stddev / 16)


def test_kernel_for_a_steeper_activation_is_divided_by_b():
    # tanh(b W x) is the same network for W = W_1 / b: the rule scales out b.
    flat = numpy(OddSigmoid("tanh", seed=7)((16, 16)))
    steep = numpy(OddSigmoid("tanh", activation_scale=4.0, seed=7)((16, 16)))
    assert steep == pytest.approx(flat / 4, rel=1e-5, abs=1e-7)


def test_overrides():
    init = OddSigmoid("softsign", gain=2.0, noise_stddev=0.1)
    rule = init.rule((64, 32))
    assert (rule.gain, rule.noise_stddev) == (2.0, 0.1)
    assert rule.relative_noise == pytest.approx(0.1 * 8 / 2.0)
    with pytest.raises(ValueError, match="at most one"):
        OddSigmoid(noise_stddev=0.1, relative_noise=0.1)
    with pytest.raises(ValueError, match="target_depth"):
        OddSigmoid(target_depth=0)
    with pytest.raises(ValueError, match="not in the odd-sigmoid class"):
        OddSigmoid(activation="relu")


def test_seeding_like_keras():
    assert np.array_equal(numpy(OddSigmoid(seed=1)((8, 8))), numpy(OddSigmoid(seed=1)((8, 8))))
    assert not np.array_equal(numpy(OddSigmoid(seed=1)((8, 8))), numpy(OddSigmoid(seed=2)((8, 8))))
    init = OddSigmoid(seed=keras.random.SeedGenerator(0))
    assert not np.array_equal(numpy(init((8, 8))), numpy(init((8, 8))))


def test_conv_kernel_and_dtype():
    kernel = OddSigmoid(seed=0)((3, 3, 4, 8), dtype="float16")
    assert tuple(kernel.shape) == (3, 3, 4, 8)
    assert keras.backend.standardize_dtype(kernel.dtype) == "float16"


def test_string_name_and_serialization_round_trip():
    init = OddSigmoid("tanh", activation_scale=2.0, target_depth=30, floor=0.1,
                      width_margin=0.0, seed=5)
    config = init.get_config()
    assert config == {
        "activation": "tanh", "activation_scale": 2.0, "target_depth": 30,
        "floor": 0.1, "width_margin": 0.0, "gain": None, "noise_stddev": None,
        "relative_noise": None,
        "seed": 5, "input_axes": None, "output_axes": None,
    }
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert type(restored) is OddSigmoid
    assert np.array_equal(numpy(restored((6, 6))), numpy(init((6, 6))))
    assert isinstance(keras.initializers.get("odd_sigmoid"), OddSigmoid)


def test_model_with_the_initializer_saves_and_reloads(tmp_path):
    act = OddSigmoidActivation("tanh")
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(4, activation="tanh", kernel_initializer=OddSigmoid(act, seed=0)),
    ])
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    assert numpy(reloaded(x)) == pytest.approx(numpy(model(x)))
    assert isinstance(reloaded.layers[0].kernel_initializer, OddSigmoid)
