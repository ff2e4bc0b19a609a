"""Runs stacked into one program train as their single runs do.

`keras_detinit.reproduce.stacking` trains the runs of one seed that differ
only in their initializer as one model with a leading member axis. Each
member must give its single run's per-epoch history (same weights, same
batches, its own gradient and Adam state), on every backend, and
``reproduce --stack`` must write the rows a plain run writes.
"""

import math

import keras
import numpy as np
import pytest
from test_model_reuse import synthetic_dataset

from keras_detinit import models
from keras_detinit import protocol
from keras_detinit.reproduce import executors
from keras_detinit.reproduce import runner
from keras_detinit.reproduce import stacking
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiments import table2

HIDDEN = [8, 6, 8]
EPOCHS = 2
SMALL_BATCHES = protocol.PAPER_PROTOCOL.replace(batch_size=32)
INITIALIZERS = ["epsilon_orthogonal", "he_normal", "zero_hadamard", "glorot_uniform"]


def assert_same_history(member, single):
    np.testing.assert_allclose(member["loss"], single["loss"], rtol=1e-4, atol=1e-5,
                               err_msg="loss")
    np.testing.assert_allclose(member["val_accuracy"], single["val_accuracy"], atol=1e-6,
                               err_msg="val_accuracy")


@pytest.mark.parametrize("activation", ["relu", pytest.param("tanh", marks=pytest.mark.slow)])
def test_stacked_members_train_as_their_single_runs(activation):
    data = synthetic_dataset()
    pool = training.ModelPool()
    for seed in (1, 2):  # the second stack reuses the pooled, compiled model
        members = stacking.train_members(data, HIDDEN, activation, INITIALIZERS, EPOCHS, seed,
                                         protocol=SMALL_BATCHES, pool=pool)
        assert len(members) == len(INITIALIZERS)
        for initializer, member in zip(INITIALIZERS, members):
            single = training.train_classifier(data, HIDDEN, activation, initializer, EPOCHS,
                                               seed, protocol=SMALL_BATCHES)
            assert_same_history(member, single)
    assert len(pool) == 1


def test_members_start_from_their_single_runs_weights():
    stacked = stacking.build_stacked_ffnn((12,), [5], 4, "relu", members=2)
    fresh = []
    for name in ("epsilon_orthogonal", "he_normal"):
        keras.utils.set_random_seed(7)
        fresh.append(models.build_ffnn((12,), [5], 4, "relu", name))
    stacking.load_members(stacked, fresh)
    x = np.random.default_rng(0).normal(size=(3, 12)).astype("float32")
    logits = keras.ops.convert_to_numpy(stacked(x))
    for member, model in enumerate(fresh):
        np.testing.assert_allclose(logits[:, member], keras.ops.convert_to_numpy(model(x)),
                                   rtol=1e-5, atol=1e-6)


def test_load_members_rejects_a_wrong_count_or_shape():
    stacked = stacking.build_stacked_ffnn((12,), [5], 4, "relu", members=2)
    with pytest.raises(ValueError, match="must hold 2 models"):
        stacking.load_members(stacked, [models.build_ffnn((12,), [5], 4)])
    with pytest.raises(ValueError, match="stack to"):
        stacking.load_members(stacked, [models.build_ffnn((12,), [6], 4)] * 2)


def test_stacked_dense_config_round_trips():
    layer = stacking.StackedDense(3, 7, "tanh", name="stacked")
    clone = stacking.StackedDense.from_config(layer.get_config())
    assert (clone.members, clone.units, clone.name) == (3, 7, "stacked")
    assert clone.activation is keras.activations.tanh
    with pytest.raises(ValueError, match="members"):
        stacking.StackedDense(0, 7)


def test_stacking_needs_the_logits_cross_entropy():
    with pytest.raises(ValueError, match="from_logits=False"):
        stacking.compile_stacked(stacking.build_stacked_ffnn((4,), [], 2, "relu", 1),
                                 protocol.PAPER_PROTOCOL.replace(from_logits=False), 1)


def test_stacks_group_the_runs_of_one_seed_that_differ_only_in_init():
    runs = [({"dataset": d, "activation": a, "init": i}, seed)
            for seed in (3, 4) for d in ("mnist",) for a in ("relu", "tanh")
            for i in ("he_normal", "epsilon_orthogonal")]
    stacks = table2.Table2().stacks(runs)
    assert len(stacks) == 4  # 2 seeds x 2 activations
    for configs, seed in stacks:
        assert [config["init"] for config in configs] == ["he_normal", "epsilon_orthogonal"]
        assert len({config["activation"] for config in configs}) == 1
    assert sorted(seed for _, seed in stacks) == [3, 3, 4, 4]


@pytest.mark.slow  # two reproduce calls of 20 runs each
def test_reproduce_with_stack_writes_the_rows_of_single_runs(data_dir, tmp_path):
    overrides = {"depth": 4, "activations": ["tanh", "relu"], "epochs": 2, "pixels": "unit",
                 "initializers": ["epsilon_orthogonal", "he_normal", "odd_sigmoid"]}
    outcomes = {stack: runner.reproduce("table2", out=tmp_path / str(stack), data_dir=data_dir,
                                        seeds=2, overrides=overrides, download=False,
                                        show_progress=False, stack=stack)
                for stack in (False, True)}
    single, stacked = ({(row["dataset"], row["activation"], row["init"], row["seed"]): row
                        for row in outcome.results.rows} for outcome in outcomes.values())
    assert single.keys() == stacked.keys() and len(single) == outcomes[False].measured == 20
    # Float rounding of the batched matmuls may flip one of the 30
    # validation images (200 training images, 15% held out) in a run.
    one_image = 1 / 30 + 1e-6
    for key, row in single.items():
        for column in ("acc_epoch1", "acc_max", "auc"):
            assert float(stacked[key][column]) == pytest.approx(float(row[column]),
                                                                abs=one_image)
        assert float(stacked[key]["final_loss"]) == pytest.approx(float(row["final_loss"]),
                                                                  rel=1e-3)
    assert "runs stacked over `init`" in outcomes[True].report.read_text()


class _Unstackable(Experiment):
    name, title, source = "unstackable", "Unstackable", "none"
    columns = ("value",)
    profiles = {"quick": Profile(seeds=1, settings={})}

    def configurations(self, settings):
        return [{"init": "a"}, {"init": "b"}]

    def measure(self, config, seed, settings, context):
        return {"value": 1.0}

    def report(self, results, settings, figures):
        return ""


class _FailingStack(_Unstackable):
    stack_over = "init"

    def measure_stack(self, configs, seed, settings, context):
        raise RuntimeError("out of memory")


def test_an_experiment_that_cannot_stack_says_so_before_running(tmp_path):
    with pytest.raises(ValueError, match="cannot stack"):
        runner.reproduce(_Unstackable(), out=tmp_path, stack=True, show_progress=False)
    assert not (tmp_path / runner.RESULTS_FILE).exists()


def test_a_failing_stack_fails_each_of_its_runs():
    job = executors.Job(_FailingStack(), {}, lambda: None)
    finished = executors.Worker(job).measure(({"init": "a"}, {"init": "b"}), 5)
    assert [run.config["init"] for run in finished] == ["a", "b"]
    assert all(run.failed and run.error_type == "RuntimeError" and run.seed == 5
               for run in finished)
    assert not any(math.isnan(run.seconds) for run in finished)
