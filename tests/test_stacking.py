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


@pytest.mark.parametrize("group_by_shape", [True, False])
@pytest.mark.parametrize("hidden", [[5], [5, 3, 5, 3, 5]])
def test_members_start_from_their_single_runs_weights(hidden, group_by_shape):
    inputs = keras.Input((12,))
    network = stacking.StackedFFNN(2, hidden, 4, "relu", group_by_shape=group_by_shape)
    stacked = keras.Model(inputs, network(inputs))
    fresh = []
    for name in ("epsilon_orthogonal", "he_normal"):
        keras.utils.set_random_seed(7)
        fresh.append(models.build_ffnn((12,), hidden, 4, "relu", name))
    stacking.load_members(stacked, fresh)
    x = np.random.default_rng(0).normal(size=(3, 12)).astype("float32")
    logits = keras.ops.convert_to_numpy(stacked(x))
    for member, model in enumerate(fresh):
        np.testing.assert_allclose(logits[:, member], keras.ops.convert_to_numpy(model(x)),
                                   rtol=1e-5, atol=1e-6)


def test_layers_of_one_shape_share_one_variable():
    network = stacking.StackedFFNN(members=3, hidden_units=[10, 6] * 60, num_classes=10,
                                   activation="relu", group_by_shape=True)
    network.build((None, 784))
    shapes = [tuple(group.shape) for group in network.kernel_groups]
    assert shapes == [(1, 3, 784, 10), (60, 3, 10, 6), (60, 3, 6, 10)]  # the output is 6 -> 10
    assert len(network.trainable_weights) == 6
    assert network.slots[:3] == [(0, 0), (1, 0), (2, 0)] and network.slots[-1] == (2, 59)


def test_ungrouped_layers_have_a_variable_each():
    network = stacking.StackedFFNN(members=3, hidden_units=[10, 6, 10], num_classes=10,
                                   activation="relu", group_by_shape=False)
    network.build((None, 784))
    assert [tuple(group.shape) for group in network.kernel_groups] == [
        (1, 3, 784, 10), (1, 3, 10, 6), (1, 3, 6, 10), (1, 3, 10, 10)]
    assert network.slots == [(0, 0), (1, 0), (2, 0), (3, 0)]


def test_only_jax_keeps_a_variable_per_layer_by_default():
    network = stacking.StackedFFNN(members=2, hidden_units=[4, 4, 4], num_classes=4)
    network.build((None, 4))
    assert len(network.kernel_groups) == (4 if keras.backend.backend() == "jax" else 1)


def test_load_members_rejects_a_wrong_count_or_shape():
    stacked = stacking.build_stacked_ffnn((12,), [5], 4, "relu", members=2)
    with pytest.raises(ValueError, match="must hold 2 models"):
        stacking.load_members(stacked, [models.build_ffnn((12,), [5], 4)])
    with pytest.raises(ValueError, match="stack to"):
        stacking.load_members(stacked, [models.build_ffnn((12,), [6], 4)] * 2)
    with pytest.raises(ValueError, match="2 Dense layers"):
        stacking.load_members(stacked, [models.build_ffnn((12,), [5, 5], 4)] * 2)


def test_stacked_ffnn_config_round_trips():
    layer = stacking.StackedFFNN(3, [7, 5], 4, "tanh", group_by_shape=False, name="stacked")
    clone = stacking.StackedFFNN.from_config(layer.get_config())
    assert (clone.members, clone.hidden_units, clone.num_classes, clone.group_by_shape,
            clone.name) == (3, [7, 5], 4, False, "stacked")
    assert clone.activation is keras.activations.tanh
    with pytest.raises(ValueError, match="members"):
        stacking.StackedFFNN(0, [7], 4)
    with pytest.raises(ValueError, match="hidden_units"):
        stacking.StackedFFNN(2, [7, 0], 4)
    with pytest.raises(ValueError, match="group_by_shape"):
        stacking.StackedFFNN(2, [7], 4, group_by_shape="yes")


def test_member_metrics_are_each_members_loss_and_accuracy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 3, 4)).astype("float32")
    labels = rng.integers(0, 4, size=50)
    metric = stacking.MemberMetrics(3)
    metric.update_state(labels[:20], logits[:20])  # two batches, as Keras accumulates
    metric.update_state(labels[20:], logits[20:])
    result = {key: float(value) for key, value in metric.result().items()}
    for member in range(3):
        loss = keras.losses.sparse_categorical_crossentropy(labels, logits[:, member],
                                                            from_logits=True)
        accuracy = np.mean(np.argmax(logits[:, member], axis=-1) == labels)
        assert result[f"member{member}_loss"] == pytest.approx(
            float(np.mean(keras.ops.convert_to_numpy(loss))), rel=1e-5)
        assert result[f"member{member}_accuracy"] == pytest.approx(accuracy)
    with pytest.raises(ValueError, match="sample_weight"):
        metric.update_state(labels, logits, sample_weight=np.ones(50))


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
