"""``keras-detinit reproduce odd_sigmoid_*``: the three odd-sigmoid studies.

Unit tests check what the experiments rest on (the initializer specs, the
output layer's gain, the scale invariance of the propagation, the verdict
rule); each experiment then runs in-process on tiny settings and tiny IDX
files (conftest.py's ``data_dir``), from a first seed other than 0, and
resumes without measuring anything again.
"""

import csv
import json
import math

import numpy as np
import pytest

from keras_detinit import cli
from keras_detinit import reproduce
from keras_detinit.initializers import OddSigmoid
from keras_detinit.initializers.odd_sigmoid import BAND_FLOOR
from keras_detinit.initializers.odd_sigmoid import BAND_WIDTH_MARGIN
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reproduce.experiments import odd_sigmoid_common as common
from keras_detinit.reproduce.experiments import odd_sigmoid_signal
from keras_detinit.reporting.results import Results

PNG = b"\x89PNG\r\n\x1a\n"


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# -- specs, networks, verdicts ---------------------------------------------------


def test_initializer_specs_become_odd_sigmoid_arguments():
    assert ffnn.odd_sigmoid_arguments("odd_sigmoid") == {}
    assert ffnn.odd_sigmoid_arguments("odd_sigmoid:band") == {
        "floor": BAND_FLOOR, "width_margin": BAND_WIDTH_MARGIN}
    assert ffnn.odd_sigmoid_arguments("odd_sigmoid:floor=0.01, width_margin=2") == {
        "floor": 0.01, "width_margin": 2.0}
    assert ffnn.odd_sigmoid_arguments("glorot_normal") is None
    for bad in ("odd_sigmoid:bend", "odd_sigmoid:floor=x", "odd_sigmoid:depth=3"):
        with pytest.raises(ValueError, match="`initializers`.*KEY in"):
            ffnn.odd_sigmoid_arguments(bad)


def test_make_initializer_tells_odd_sigmoid_the_network():
    activation = common.parse_activation("tanh:4")
    init = ffnn.make_initializer("odd_sigmoid:floor=0.01", activation, 60)
    assert isinstance(init, OddSigmoid)
    assert (init.target_depth, init.floor, init.activation.scale) == (60, 0.01, 4.0)
    assert ffnn.make_initializer("orthogonal", activation, 60) == "orthogonal"


def test_the_softmax_layer_of_an_odd_sigmoid_network_has_gain_one():
    model = common.build_network("tanh:2", "odd_sigmoid", depth=3, width=8,
                                 input_shape=(4, 4), num_classes=10, seed=3)
    *hidden, output = [layer.kernel_initializer for layer in model.layers[1:]]
    # tanh(2x) has the critical scaling 1/2: the hidden gain; the softmax
    # layer is not followed by tanh(2x) and gets 1.
    assert [init.rule((8, 8)).gain for init in hidden] == [0.5] * 3
    assert output.rule((8, 10)).gain == 1.0
    kernel = np.asarray(model.layers[-1].kernel)
    assert abs(np.mean(np.diag(kernel[:8, :8])) - 1.0) < 0.5  # gain 1 on the diagonal


def test_activation_specs_and_their_errors():
    assert common.parse_activation("tanh:0.5").critical_scaling == pytest.approx(2.0)
    assert common.activation_label("tanh:4") == "tanh(4x)"
    for bad in ("relu", "tanh:-1", "tanh:x"):
        with pytest.raises(ValueError, match="`activations`"):
            common.parse_activation(bad)


def test_propagation_does_not_depend_on_the_activation_scale():
    # W for tanh(b x) is W for tanh(x) divided by b, so b W x is the same:
    # the same seeds give the same second moments and saturation.
    plain = odd_sigmoid_signal.propagate("tanh", "odd_sigmoid", 8, 6, 64, seed=3)
    steep = odd_sigmoid_signal.propagate("tanh:2", "odd_sigmoid", 8, 6, 64, seed=3)
    np.testing.assert_allclose(plain[0], steep[0], rtol=1e-5)
    np.testing.assert_array_equal(plain[1], steep[1])
    assert plain[2] == pytest.approx(steep[2], abs=1e-3)
    again = odd_sigmoid_signal.propagate("tanh", "odd_sigmoid", 8, 6, 64, seed=3)
    np.testing.assert_array_equal(plain[0], again[0])
    other = odd_sigmoid_signal.propagate("tanh", "odd_sigmoid", 8, 6, 64, seed=4)
    assert not np.array_equal(plain[0], other[0])


def test_propagation_measures_saturation_against_the_bound():
    # Glorot normal with tanh(4x) saturates; OddSigmoid's gain 1/4 does not.
    moments, saturated, _ = odd_sigmoid_signal.propagate("tanh:4", "glorot_normal", 32, 5,
                                                         256, seed=3)
    _, tamed, _ = odd_sigmoid_signal.propagate("tanh:4", "odd_sigmoid", 32, 5, 256, seed=3)
    assert saturated.max() > odd_sigmoid_signal.SATURATED > tamed.max()
    assert np.all((moments > 0) & (moments < 1))


def test_verdicts_are_undecided_inside_the_spread():
    assert common.verdict((0.85, 0.04), 0.80) == "held"
    assert common.verdict((0.75, 0.04), 0.80) == "not held"
    assert common.verdict((0.83, 0.04), 0.80) == "undecided"
    assert common.verdict((0.95, math.nan), 0.80) == "undecided"  # one seed
    assert common.compare((0.74, 0.01), (0.70, 0.02)) == "ahead"
    assert common.compare((0.70, 0.01), (0.74, 0.02)) == "behind"
    assert common.compare((0.74, 0.03), (0.70, 0.02)) == "undecided"
    assert common.best({"a": (0.5, 0.1), "b": (math.nan, math.nan), "c": (0.7, 0.0)}) == "c"


def test_reports_say_when_seeds_were_tuning_seeds():
    assert "--first-seed 3" in common.seeds_note(Results([{"seed": "0"}, {"seed": "3"}]))
    assert "none of them" in common.seeds_note(Results([{"seed": "3"}, {"seed": "7"}]))


@pytest.mark.parametrize(
    "name,overrides,match",
    [
        ("odd_sigmoid_scale", {"activations": ["tanh", "relu"]}, "`activations`: 'relu'"),
        ("odd_sigmoid_scale", {"activations": []}, "`activations` must name"),
        ("odd_sigmoid_scale", {"initializers": ["odd_sigmoid:floor=2"]}, "`floor`"),
        ("odd_sigmoid_scale", {"initializers": ["odd_sigmoid:spread=1"]}, "`initializers`"),
        ("odd_sigmoid_scale", {"initializers": ["nope"]}, "`initializers`: 'nope'"),
        ("odd_sigmoid_scale", {"depth": 0}, "`depth` must be an integer >= 1"),
        ("odd_sigmoid_scale", {"samples_per_class": 0}, "`samples_per_class`"),
        ("odd_sigmoid_scale", {"learning_rate": 0}, "`learning_rate`"),
        ("odd_sigmoid_data", {"samples_per_class": [10, 0]}, "`samples_per_class` must be"),
        ("odd_sigmoid_data", {"datasets": ["cifar10"]}, "cifar10"),
        ("odd_sigmoid_data", {"batch_size": 0}, "`batch_size`"),
        ("odd_sigmoid_signal", {"widths": [8, 0]}, "`widths` must be an integer >= 1"),
        ("odd_sigmoid_signal", {"activations": ["tanh:0"]}, "`activations`: 'tanh:0'"),
    ],
)
def test_bad_settings_fail_before_any_run(tmp_path, name, overrides, match):
    with pytest.raises(ValueError, match=match):
        reproduce.reproduce(name, out=tmp_path / "out", overrides=overrides,
                            show_progress=False)
    assert not (tmp_path / "out").exists()


def test_the_profiles_state_their_grids():
    sizes = {name: len(reproduce.get_experiment(name).configurations(
        reproduce.get_experiment(name).settings("paper")))
        for name in ("odd_sigmoid_scale", "odd_sigmoid_data", "odd_sigmoid_signal")}
    assert sizes == {"odd_sigmoid_scale": 5 * 5, "odd_sigmoid_data": 2 * 2 * 5,
                     "odd_sigmoid_signal": 3 * 4 * 3}
    for name in sizes:
        experiment = reproduce.get_experiment(name)
        assert experiment.profiles["quick"].reductions and experiment.name.startswith(
            "odd_sigmoid")


# -- end to end, in-process ------------------------------------------------------

SMOKE = {
    "odd_sigmoid_scale": {"epochs": 1, "depth": 2, "samples_per_class": 4,
                          "activations": ["tanh:2", "softsign"],
                          "initializers": ["odd_sigmoid", "odd_sigmoid:band", "he_normal"]},
    "odd_sigmoid_data": {"epochs": 1, "depth": 2, "width": 8, "samples_per_class": [2],
                         "datasets": ["fashion_mnist"],
                         "initializers": ["odd_sigmoid", "glorot_normal"]},
    "odd_sigmoid_signal": {"depth": 4, "widths": [8], "batch": 16,
                           "activations": ["tanh:2"],
                           "initializers": ["odd_sigmoid", "odd_sigmoid:band"]},
}
CONFIGURATIONS = {"odd_sigmoid_scale": 6, "odd_sigmoid_data": 2, "odd_sigmoid_signal": 2}
REPORT_TEXT = {
    "odd_sigmoid_scale": ["| `odd_sigmoid:band` |", "Target: at least 80%", "tanh(2x)"],
    "odd_sigmoid_data": ["FMNIST, 20 images", "OddSigmoid is"],
    "odd_sigmoid_signal": ["Jacobian spread", "initializers meeting the goal"],
}


@pytest.mark.parametrize("name", [
    "odd_sigmoid_signal",
    # Trainings: 4 and 16 of them, 5-100 s on a loaded 2-core CPU.
    pytest.param("odd_sigmoid_data", marks=pytest.mark.slow),
    pytest.param("odd_sigmoid_scale", marks=pytest.mark.slow),
])
def test_each_experiment_runs_from_a_first_seed_and_resumes(name, data_dir, tmp_path, capsys):
    argv = ["reproduce", name, "--profile", "quick", "--seeds", "2", "--first-seed", "3",
            "--data-dir", str(data_dir), "--out", str(tmp_path), "--no-download", "--quiet",
            *[word for key, value in SMOKE[name].items()
              for word in ("--set", f"{key}={json.dumps(value)}")]]
    assert cli.main(argv) == 0, capsys.readouterr().err[-3000:]
    rows = read_rows(tmp_path / "results.csv")
    assert len(rows) == 2 * CONFIGURATIONS[name]
    assert sorted({row["seed"] for row in rows}) == ["3", "4"]
    report = (tmp_path / "report.md").read_text()
    assert "Seeds 3, 4: 2 per configuration" in report
    assert "none of them is a seed OddSigmoid's default `floor` was chosen on" in report
    assert "--first-seed 3" in (tmp_path / "command.txt").read_text()
    for text in REPORT_TEXT[name]:
        assert text in report, text
    pngs = list((tmp_path / "figures").glob("*.png"))
    assert pngs and all(png.read_bytes()[:8] == PNG for png in pngs)
    assert all(f"figures/{png.name}" in report for png in pngs)
    capsys.readouterr()
    assert cli.main([*argv, "--resume"]) == 0
    assert "0 runs measured" in capsys.readouterr().out


def test_measured_values_are_fractions(data_dir, tmp_path):
    outcome = reproduce.reproduce("odd_sigmoid_data", profile="quick", out=tmp_path,
                                  data_dir=str(data_dir), download=False, show_progress=False,
                                  overrides={**SMOKE["odd_sigmoid_data"],
                                             "initializers": ["odd_sigmoid"]},
                                  first_seed=5)
    assert [row["seed"] for row in outcome.results.rows] == ["5"]
    accuracy = outcome.results.values("test_accuracy")
    assert accuracy.size == 1 and 0 <= accuracy[0] <= 1
    with pytest.raises(ValueError, match="`first_seed` must be an integer >= 0"):
        reproduce.reproduce("odd_sigmoid_data", out=tmp_path / "other", first_seed=-1,
                            show_progress=False)
