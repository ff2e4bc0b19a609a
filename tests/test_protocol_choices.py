"""The protocol choices the deep-narrow paper leaves open, as settings.

The input scale (``pixels``), ZerO's Hadamard constant and RAI's standard
deviation each have two readings; each is a documented option, checked
before any run, and named in the reproduction's report.
"""

import math

import keras
import numpy as np
import pytest

from keras_detinit import datasets
from keras_detinit.initializers import RandomizedAsymmetric
from keras_detinit.initializers import ZerOHadamard
from keras_detinit.initializers.randomized_asymmetric import RAI_STDDEV
from keras_detinit.reproduce import registry
from keras_detinit.reproduce.experiments import ffnn

FFNN_EXPERIMENTS = ("table1", "table2", "depth", "width")


def test_zero_paper_constant_is_the_code_constant_times_sqrt_two():
    # 4 -> 8 units: p = 8; the code's c = 8^-1/2, Algorithm 1's 2^-(3-1)/2 = 1/2.
    code = keras.ops.convert_to_numpy(ZerOHadamard()(shape=(4, 8)))
    paper = keras.ops.convert_to_numpy(ZerOHadamard(constant="paper")(shape=(4, 8)))
    np.testing.assert_allclose(np.abs(code), 1 / math.sqrt(8), rtol=1e-6)
    np.testing.assert_allclose(paper, code * math.sqrt(2), rtol=1e-6)
    # The code's constant keeps the columns orthonormal when out is a power of two.
    np.testing.assert_allclose(code @ code.T, np.eye(4), atol=1e-6)


def test_zero_constant_only_matters_for_expanding_layers():
    for constant in ("code", "paper"):
        kernel = ZerOHadamard(constant=constant)(shape=(8, 4))
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(kernel), np.eye(8, 4))


def test_rai_scale_readings():
    fan_in = 400
    scaled = keras.ops.convert_to_numpy(RandomizedAsymmetric(seed=1)(shape=(fan_in, 300)))
    literal = keras.ops.convert_to_numpy(
        RandomizedAsymmetric(seed=1, scale="absolute")(shape=(fan_in, 300)))
    # The normal entries' spread, robust to the one Beta(2, 1) entry per
    # column: 1.4826 x the median absolute deviation estimates a normal std.
    assert 1.4826 * np.median(np.abs(scaled)) == pytest.approx(
        RAI_STDDEV / math.sqrt(fan_in), rel=0.03)
    assert 1.4826 * np.median(np.abs(literal)) == pytest.approx(RAI_STDDEV, rel=0.03)


@pytest.mark.parametrize("make", [lambda: ZerOHadamard(constant="text"),
                                  lambda: RandomizedAsymmetric(scale="fan_out")])
def test_bad_readings_are_refused_by_name(make):
    with pytest.raises(ValueError, match="constant|scale"):
        make()


@pytest.mark.parametrize("initializer", [ZerOHadamard(constant="paper"),
                                         RandomizedAsymmetric(seed=3, scale="absolute")])
def test_readings_survive_serialization(initializer):
    restored = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert restored.get_config() == initializer.get_config()


def test_initializer_specs_build_the_documented_variants():
    assert ffnn.make_initializer("zero_hadamard:constant=paper", "relu", 3).constant == "paper"
    assert ffnn.make_initializer("randomized_asymmetric:scale=absolute", "relu", 3).scale \
        == "absolute"
    assert ffnn.label("zero_hadamard:constant=paper") == "ZerO (constant=paper)"
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        ffnn.make_initializer_of_spec("zero_hadamard:width=3")


@pytest.mark.parametrize("name", FFNN_EXPERIMENTS)
def test_every_ffnn_experiment_reads_raw_pixels_in_both_profiles(name):
    experiment = registry.get_experiment(name)
    for profile in ("quick", "paper"):
        assert experiment.settings(profile)["pixels"] == "raw"


@pytest.mark.parametrize("name", FFNN_EXPERIMENTS)
def test_bad_settings_fail_before_any_run(name):
    experiment = registry.get_experiment(name)
    with pytest.raises(ValueError, match="pixels"):
        experiment.configurations(experiment.settings("quick", {"pixels": "scaled"}))
    with pytest.raises(ValueError, match="constant"):
        experiment.configurations(experiment.settings(
            "quick", {"initializers": ["zero_hadamard:constant=printed"]}))


def test_reports_name_the_readings_used():
    notes = ffnn.protocol_notes({"pixels": "raw", "initializers": [
        "zero_hadamard:constant=paper", "randomized_asymmetric"]})
    assert "`pixels='raw'`" in notes
    assert "ZerO constant `paper`" in notes and "RAI scale `fan_in`" in notes


def test_raw_pixels_keep_the_0_255_values(data_dir):
    unit = datasets.load_dataset("mnist", data_dir=data_dir, download=False)
    raw = datasets.load_dataset("mnist", data_dir=data_dir, download=False, pixels="raw")
    np.testing.assert_allclose(raw.train.x, unit.train.x * 255, rtol=1e-6)
    assert raw.train.x.dtype == np.float32 and raw.train.x.max() > 1
    with pytest.raises(ValueError, match="pixels"):
        datasets.load_dataset("mnist", data_dir=data_dir, download=False, pixels="0-255")
