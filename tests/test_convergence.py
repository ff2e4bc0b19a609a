"""``keras-detinit reproduce convergence``: the CNN, the ViT and Table 3's gains.

Unit tests check what the experiment rests on: the models' shapes, logits
and parameter counts, the initialization path (distinct query, key and
value kernels for Sinusoidal, LSUV's unit variance), the gains as the
paper defines them (its own Table 3 gives back +4.9 and +20.9), the
checks of the settings, and that a reused compiled model trains as a
fresh one. The experiment then runs end to end from the command line, in
this process, on tiny settings and conftest.py's tiny IDX files.
"""

import csv
import json

import keras
import numpy as np
import pytest

import keras_detinit_cli
from keras_detinit import protocol
from keras_detinit import vision_models
from keras_detinit.initializers import Sinusoidal
from keras_detinit.reporting.results import Results
from keras_detinit.reproduce import runner
from keras_detinit.reproduce.experiments import convergence

PNG = b"\x89PNG\r\n\x1a\n"
TINY_VIT = {"patch_size": 14, "hidden_dim": 8, "num_layers": 1, "num_heads": 2, "mlp_dim": 8}
SMALL_VIT = {"patch_size": 7, "hidden_dim": 16, "num_layers": 2, "num_heads": 4, "mlp_dim": 24}


def tiny_data(samples=30, seed=0):
    """A `Dataset` of random 28 x 28 images in [0, 1], 10 classes."""
    from keras_detinit.datasets import Dataset
    from keras_detinit.datasets import Split

    rng = np.random.default_rng(seed)

    def split(n):
        return Split(rng.random((n, 28, 28), dtype="float32"), np.arange(n) % 10)

    return Dataset("mnist", split(samples), split(20), split(10),
                   tuple(str(k) for k in range(10)), "random")


def attention_kernels(model, block=1):
    attention = model.get_layer(f"block_{block}_attention")
    return [keras.ops.convert_to_numpy(dense.kernel) for dense in
            (attention._query_dense, attention._key_dense, attention._value_dense)]


# -- models ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1)])
def test_models_emit_logits_of_every_class(shape):
    x = np.random.default_rng(0).random((3, *shape), dtype="float32")
    for model in (vision_models.build_lenet5(shape, 7),
                  vision_models.build_vit(shape, 7, **TINY_VIT)):
        assert model.layers[-1].activation.__name__ == "linear"
        assert not protocol.ends_in_softmax(model)
        logits = keras.ops.convert_to_numpy(model(x))
        assert logits.shape == (3, 7)
        # Logits, not probabilities: rows do not sum to one.
        assert not np.allclose(logits.sum(axis=1), 1.0)


def test_lenet5_parameter_count_follows_its_layers():
    model = vision_models.build_lenet5((32, 32, 3), 10)
    # conv 5x5x3->6 (same), pool: 16 x 16, conv 5x5x6->16 (valid): 12 x 12, pool: 6 x 6.
    expected = (25 * 3 * 6 + 6) + (25 * 6 * 16 + 16) + (6 * 6 * 16 * 120 + 120) \
        + (120 * 84 + 84) + (84 * 10 + 10)
    assert model.count_params() == expected


@pytest.mark.parametrize("vit", [TINY_VIT, SMALL_VIT])
def test_vit_parameter_count_follows_its_layers(vit):
    p, d, layers, m = vit["patch_size"], vit["hidden_dim"], vit["num_layers"], vit["mlp_dim"]
    tokens = (28 // p) ** 2
    block = 2 * 2 * d + 4 * (d * d + d) + (d * m + m) + (m * d + d)
    expected = (p * p * d + d) + tokens * d + layers * block + 2 * d + (d * 10 + 10)
    assert vision_models.build_vit((28, 28), 10, **vit).count_params() == expected


@pytest.mark.parametrize("call, message", [
    (lambda: vision_models.build_vit((28, 28), 10, patch_size=5),
     r"`patch_size` must divide .*28 x 28.*patch_size=5"),
    (lambda: vision_models.build_vit((28, 28), 10, hidden_dim=30, num_heads=4),
     r"`hidden_dim` must be a multiple of `num_heads` \(4\).*hidden_dim=30"),
    (lambda: vision_models.build_vit((28, 28), 10, num_layers=0),
     r"`num_layers` must be an integer >= 1.*num_layers=0"),
    (lambda: vision_models.build_lenet5((10, 28), 10),
     r"`input_shape\[height\]` must be an integer >= 12.*=10"),
    (lambda: vision_models.build_lenet5((28,), 10), r"`input_shape` must be .*\(28,\)"),
    (lambda: vision_models.build_lenet5((28, 28), 1), r"`num_classes` must be .*>= 2.*=1"),
    (lambda: vision_models.PositionEmbedding(stddev=0.0), r"`stddev` must be in \(0"),
])
def test_bad_model_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_position_embedding_round_trips_its_config():
    layer = vision_models.PositionEmbedding(stddev=0.5, name="p")
    clone = vision_models.PositionEmbedding.from_config(layer.get_config())
    assert (clone.stddev, clone.name) == (0.5, "p")


# -- initialization ----------------------------------------------------------------


def test_sinusoidal_reaches_query_key_value_as_distinct_projections():
    settings = {"vit": SMALL_VIT, "batch_size": 8}
    keras.utils.set_random_seed(0)
    model = convergence.initialized_model("vit", "sinusoidal", tiny_data(), 0, settings)
    d = SMALL_VIT["hidden_dim"]
    for block in (1, 2):
        query, key, value = attention_kernels(model, block)
        # The kernel built by the layer alone: every projection identical.
        alone = Sinusoidal(input_axes=[0], output_axes=[1, 2])(query.shape)
        np.testing.assert_allclose(query, alone, atol=1e-6)  # projection 0 is the scheme
        assert not np.allclose(query, key) and not np.allclose(key, value)
        assert not np.allclose(query, value)
        for kernel in (query, key, value):
            # Same Glorot variance of the true fans (d x d), same values
            # (a cyclic shift of the inputs permutes each unit's weights).
            assert np.var(kernel) == pytest.approx(2 / (d + d), rel=1e-4)
            np.testing.assert_allclose(np.sort(kernel, axis=0), np.sort(query, axis=0),
                                       atol=1e-6)
    built = vision_models.build_vit((28, 28), 10, kernel_initializer="sinusoidal", **SMALL_VIT)
    query, key, _ = attention_kernels(built)
    np.testing.assert_allclose(query, key)  # why the layer-aware path is needed


@pytest.mark.parametrize("init", ["glorot_uniform", "arcsine"])
def test_random_schemes_draw_each_attention_kernel_with_its_true_fans(init):
    vit = {**SMALL_VIT, "hidden_dim": 64, "num_heads": 4}
    keras.utils.set_random_seed(1)
    model = convergence.initialized_model("vit", init, tiny_data(), 1, {"vit": vit})
    kernels = attention_kernels(model)
    assert not np.allclose(kernels[0], kernels[1])
    for kernel in kernels:  # 4096 draws: the variance within 10% of 2 / (64 + 64)
        assert np.var(kernel) == pytest.approx(1 / 64, rel=0.1)


def test_initialization_is_reproducible_from_the_seed():
    settings = {"vit": TINY_VIT, "batch_size": 8}
    weights = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        model = convergence.initialized_model("vit", "arcsine", tiny_data(), 3, settings)
        weights.append(model.get_weights())
    for first, second in zip(*weights):
        np.testing.assert_array_equal(first, second)


@pytest.mark.slow  # LSUV probes each layer many times: seconds of tracing on JAX
def test_lsuv_leaves_unit_variance_logits_on_its_batch():
    data = tiny_data(samples=64)
    keras.utils.set_random_seed(0)
    model = convergence.initialized_model("lenet5", convergence.LSUV, data, 0,
                                          {"vit": TINY_VIT, "batch_size": 64})
    # The batch is the whole (64-image) training set here.
    logits = keras.ops.convert_to_numpy(model(data.train.x))
    assert abs(np.var(logits) - 1.0) < 0.1


@pytest.mark.parametrize("init, expected", [
    ("sinusoidal", True), ("zero_hadamard", True), ("arcsine", False),
    ("glorot_uniform", False), ("orthogonal", False)])
def test_only_deterministic_schemes_are_redrawn_layer_aware(init, expected):
    assert convergence.is_deterministic(init) is expected


# -- gains, verdicts -----------------------------------------------------------------

#: The paper's Table 3, maximum accuracy and AUC, (Default, Sinusoidal), per row.
TABLE3 = [((37.3, 51.9), (25, 42)), ((53.1, 61.5), (48, 57)), ((67.5, 71.0), (64, 68)),
          ((18.4, 21.6), (26, 36)), ((32.8, 34.8), (62, 65)), ((40.9, 42.6), (79, 82)),
          ((28.1, 32.0), (47, 56)), ((27.7, 36.6), (53, 70)), ((50.0, 53.5), (100, 106)),
          ((28.6, 31.5), (23, 25)), ((40.4, 41.1), (58, 72))]


def test_gains_as_defined_give_back_the_papers_figures():
    rows, cells = [], []
    for index, ((acc_default, acc_sin), (auc_default, auc_sin)) in enumerate(TABLE3):
        cells.append({"model": "lenet5", "dataset": f"row{index}"})
        for init, acc, auc in (("he_normal", acc_default, auc_default),
                               ("sinusoidal", acc_sin, auc_sin)):
            rows.append({"model": "lenet5", "dataset": f"row{index}", "init": init,
                         "seed": "0", "acc_max": acc / 100, "auc": auc})
    results = Results(rows)
    [accuracy] = convergence.seed_gains(results, convergence.DEFAULT, "acc_max", cells)
    [speed] = convergence.seed_gains(results, convergence.DEFAULT, "auc", cells)
    # From the table's rounded cells: 4.85 and 20.92.
    assert accuracy == pytest.approx(convergence.PAPER_GAINS[convergence.DEFAULT][0], abs=0.06)
    assert speed == pytest.approx(convergence.PAPER_GAINS[convergence.DEFAULT][1], abs=0.06)


def test_gains_are_paired_by_seed_and_skip_incomplete_seeds():
    rows = [{"model": "vit", "dataset": "mnist", "init": init, "seed": seed, "acc_max": acc}
            for init, seed, acc in (("sinusoidal", "0", 0.90), ("orthogonal", "0", 0.85),
                                    ("sinusoidal", "1", 0.80), ("orthogonal", "1", 0.78),
                                    ("sinusoidal", "2", 0.70))]
    gains = convergence.seed_gains(Results(rows), "orthogonal", "acc_max",
                                   [{"model": "vit", "dataset": "mnist"}])
    np.testing.assert_allclose(gains, [5.0, 2.0])


def test_verdict_is_undecided_inside_the_spread():
    assert convergence.verdict(1.0, 0.4) == "holds"
    assert convergence.verdict(-1.0, 0.4) == "fails"
    assert convergence.verdict(0.4, 0.4) == "undecided"
    assert convergence.verdict(5.0, float("nan")) == "undecided"  # one seed: no spread


# -- settings --------------------------------------------------------------------


@pytest.mark.parametrize("key, value, message", [
    ("models", ["resnet"], r"`models\[...\]` must be one of .*'resnet'"),
    ("models", [], r"`models` must be a non-empty list"),
    ("initializers", ["sinusoidal", "nope"], r"`initializers`: 'nope' is neither 'lsuv'"),
    ("datasets", ["cifar"], r"cifar"),
    ("epochs", 0, r"`epochs` must be an integer >= 1. Received: epochs=0"),
    ("batch_size", 2.5, r"`batch_size` must be an integer"),
    ("learning_rate", -1, r"`learning_rate` must be in \(0"),
    ("samples_per_class", 0, r"`samples_per_class` must be an int >= 1"),
    ("vit", {"patch_size": 7}, r"`vit` must be a dict with the keys"),
    ("vit", {**TINY_VIT, "num_heads": 0}, r"`vit\[num_heads\]` must be an integer >= 1"),
    ("vit", {**TINY_VIT, "patch_size": 5}, r"`patch_size` must divide"),
])
def test_bad_settings_fail_before_anything_is_written(key, value, message, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        runner.reproduce("convergence", out=out, overrides={key: value}, show_progress=False)
    assert not out.exists()


def test_quick_profile_has_three_seeds_and_the_full_grid():
    experiment = convergence.Convergence()
    settings = experiment.settings("quick")
    configs = experiment.configurations(settings)
    assert experiment.profiles["quick"].seeds >= 3
    assert {c["model"] for c in configs} == {"lenet5", "vit"}
    assert {c["init"] for c in configs} >= {"sinusoidal", "glorot_uniform", "lsuv"}
    assert len(configs) == len({json.dumps(c, sort_keys=True) for c in configs}) == 24


# -- runs ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_reused_compiled_model_trains_as_a_fresh_one(data_dir):
    experiment = convergence.Convergence()
    settings = {**experiment.settings("quick"), "samples_per_class": 3, "epochs": 2,
                "vit": TINY_VIT}
    config = {"model": "vit", "dataset": "mnist", "init": "sinusoidal"}
    other = {**config, "init": "he_normal"}
    fresh = experiment.measure(config, 1, settings,
                               runner.RunContext(data_dir, download=False, reuse_models=False))
    reusing = runner.RunContext(data_dir, download=False, reuse_models=True)
    runs = [experiment.measure(c, 1, settings, reusing) for c in (config, other, config)]
    for run in (runs[0], runs[2]):  # the third run loads state the first two trained
        assert run["val_accuracy_curve"] == fresh["val_accuracy_curve"]
        assert run["auc"] == pytest.approx(fresh["auc"], abs=1e-6)


@pytest.mark.slow
def test_runs_end_to_end_from_the_command_line(data_dir, tmp_path, capsys):
    overrides = {"epochs": 2, "samples_per_class": 2, "datasets": ["fashion_mnist"],
                 "initializers": ["sinusoidal", "glorot_uniform", "he_normal", "lsuv"],
                 "vit": TINY_VIT}
    argv = ["reproduce", "convergence", "--data-dir", str(data_dir), "--out", str(tmp_path),
            "--seeds", "2", "--no-download", "--quiet",
            *[word for key, value in overrides.items()
              for word in ("--set", f"{key}={json.dumps(value)}")]]
    assert keras_detinit_cli.main(argv) == 0, capsys.readouterr().err[-3000:]
    with open(tmp_path / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 4 * 2  # models x initializers x seeds
    assert list(rows[0])[:8] == ["model", "dataset", "init", "seed", "acc_epoch1",
                                 "acc_epoch10", "acc_max", "auc"]
    for row in rows:
        curve = [float(value) for value in row["val_accuracy_curve"].split(";")]
        assert len(curve) == 2 and row["acc_epoch10"] == ""  # not measured: empty
        assert float(row["acc_max"]) == pytest.approx(max(curve), abs=1e-5)
        assert float(row["auc"]) == pytest.approx(np.mean(curve), abs=1e-5)
    report = (tmp_path / "report.md").read_text()
    for text in ("## LeNet-5, FMNIST", "## ViT, FMNIST", "## Gains of Sinusoidal",
                 "Default (He normal on LeNet-5, Glorot uniform on ViT)", "(+4.9)", "(+20.9)",
                 "## Verdict", "figures/convergence_vit.png"):
        assert text in report
    for model in ("lenet5", "vit"):
        assert (tmp_path / "figures" / f"convergence_{model}.png").read_bytes()[:8] == PNG
    assert not (tmp_path / "failures.csv").exists()
    assert keras_detinit_cli.main([*argv, "--resume"]) == 0  # nothing left to measure
