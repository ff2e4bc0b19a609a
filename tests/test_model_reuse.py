"""One compiled model per architecture trains exactly as a fresh one.

`keras_detinit.reproduce.training.ModelPool` loads a freshly initialized
model's weights into one compiled model per architecture and restores its
optimizer's initial state, instead of tracing and compiling a new model per
run. A reused model must give the
per-epoch history of a freshly built one with the same seed (hence the
same weights and batch order), on every backend.
"""

import keras
import numpy as np
import pytest

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit import protocol
from keras_detinit.reproduce import runner
from keras_detinit.reproduce import training

HIDDEN = [8, 6, 8]
EPOCHS = 2


def synthetic_dataset(seed: int = 0) -> datasets.Dataset:
    """Four Gaussian classes in 12 dimensions; 240 training, 60 validation examples."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(4, 12)) * 2

    def split(count):
        y = rng.integers(0, 4, size=count)
        x = (centers[y] + rng.normal(size=(count, 12))).astype("float32")
        return datasets.Split(x, y.astype("int64"))

    return datasets.Dataset(name="synthetic", train=split(240), validation=split(60),
                            test=split(60), class_names=("a", "b", "c", "d"), source="memory")


def run(data, initializer, seed, pool, activation="relu"):
    return training.train_classifier(data, HIDDEN, activation, initializer, EPOCHS, seed,
                                     protocol=protocol.PAPER_PROTOCOL.replace(batch_size=32),
                                     pool=pool)


def assert_same_history(reused, fresh):
    for key in ("loss", "val_accuracy"):
        np.testing.assert_allclose(reused[key], fresh[key], rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.slow  # trains seven times; `test_reuse_restarts_...` covers reuse in the fast loop
def test_reused_models_train_as_fresh_ones():
    data = synthetic_dataset()
    pool = training.ModelPool()
    run(data, "he_normal", 1, pool)  # compiles and trains the pooled model
    # Several reuses: on JAX a state buffer kept on the device would be
    # donated to the first training and fail the third.
    for initializer, seed in [("glorot_uniform", 2), ("epsilon_orthogonal", 3),
                              ("randomized_asymmetric", 4)]:
        reused = run(data, initializer, seed, pool)
        fresh = run(data, initializer, seed, None)
        assert_same_history(reused, fresh)
    assert len(pool) == 1  # one compiled model served every run


def test_reuse_restarts_the_optimizer_and_the_biases():
    data = synthetic_dataset()
    pool = training.ModelPool()
    first = run(data, "he_normal", 5, pool)
    again = run(data, "he_normal", 5, pool)  # same run on the trained, reused model
    assert_same_history(again, first)
    model = next(iter(pool._models.values()))[0]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == EPOCHS * 8
    fresh = run(data, "he_normal", 5, None)
    assert_same_history(again, fresh)


def test_architectures_get_their_own_models_and_the_oldest_is_dropped():
    data = synthetic_dataset()
    pool = training.ModelPool(capacity=1)
    run(data, "he_normal", 0, pool, activation="relu")
    relu_model = next(iter(pool._models.values()))[0]
    run(data, "he_normal", 0, pool, activation="tanh")
    assert len(pool) == 1
    assert next(iter(pool._models.values()))[0] is not relu_model


def test_the_pool_builds_an_architecture_once():
    pool = training.ModelPool()
    built = []

    def build():
        built.append(models.build_ffnn((4,), [3], 2))
        return built[-1]

    first = pool.compiled("tiny", build, protocol.PAPER_PROTOCOL)
    assert pool.compiled("tiny", build, protocol.PAPER_PROTOCOL) is first
    assert built == [first]  # the second call did not build a model
    pool.compiled("other", build, protocol.PAPER_PROTOCOL)
    assert len(built) == 2


def test_pool_capacity_is_checked():
    with pytest.raises(ValueError, match="capacity"):
        training.ModelPool(capacity=0)


def test_the_run_context_reuses_models_unless_told_not_to():
    assert isinstance(runner.RunContext().models, training.ModelPool)
    assert runner.RunContext(reuse_models=False).models is None
