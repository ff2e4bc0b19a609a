"""The same network, weights and data train the same on every backend.

With a softmax output, Keras computes the cross-entropy from the logits on
TensorFlow but from probabilities clipped at 1e-7 on JAX and PyTorch, where
a confidently wrong sample gets zero gradient. On raw MNIST pixels (large
logits from the start) that costs JAX and PyTorch about 29 points of
accuracy against TensorFlow after 3 epochs of softmax regression. The
package's models emit logits and the protocol's loss takes them; this
module checks that the training then agrees across backends, and that a
softmax model is still trained, with a warning.
"""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit import protocol

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
BACKENDS = ("tensorflow", "jax", "torch")
#: Largest difference in validation accuracy, per epoch, between backends.
#: Batches are in a fixed order, so only floating-point rounding differs
#: (measured: at most 0.0002); the clipping defect differs by about 0.29.
TOLERANCE = 0.005
EPOCHS = 3


def softmax_regression_curve(data_dir: str) -> list[float]:
    """Validation accuracy per epoch: deterministic init, raw pixels, fixed batches.

    Softmax regression (no hidden layer) with epsilon-orthogonal kernels on
    100 MNIST images per class at 0-255, under the papers' protocol, with
    the batches in one fixed order (shuffled once by NumPy) so that every
    backend sees the same steps.
    """
    data = datasets.load_dataset("mnist", data_dir=data_dir, samples_per_class=100,
                                 validation_fraction=0.15, seed=0, pixels="raw",
                                 download=False)
    order = np.random.default_rng(0).permutation(len(data.train.y))
    keras.utils.set_random_seed(0)
    model = models.build_ffnn((28, 28), [], 10, kernel_initializer="epsilon_orthogonal")
    history = protocol.PAPER_PROTOCOL.replace(epochs=EPOCHS).fit(
        model, data.train.x[order], data.train.y[order], validation_data=data.validation,
        shuffle=False)
    return [float(value) for value in history.history["val_accuracy"]]


def curve_on(backend: str) -> list[float]:
    """`softmax_regression_curve` on ``backend``, in-process if it is Keras' own."""
    if backend == keras.backend.backend():
        return softmax_regression_curve(str(SHARED_DATA))
    code = (f"import sys, json; sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r}); "
            "import test_backend_independent_training as t; "
            f"print(json.dumps(t.softmax_regression_curve({str(SHARED_DATA)!r})))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env={**os.environ, "KERAS_BACKEND": backend}, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="MNIST under ../shared/data is absent")
def test_raw_pixel_training_agrees_on_every_backend():
    curves = {backend: curve_on(backend) for backend in BACKENDS}
    reference = curves[keras.backend.backend()]
    assert reference[-1] > 0.75, curves  # it learns: chance is 0.1
    for backend, curve in curves.items():
        assert len(curve) == EPOCHS
        np.testing.assert_allclose(curve, reference, atol=TOLERANCE,
                                   err_msg=f"{backend} against {keras.backend.backend()}")


def test_the_protocol_loss_takes_logits():
    loss = protocol.PAPER_PROTOCOL.make_loss(models.build_ffnn((4,), [3], 2))
    assert loss.get_config()["from_logits"] is True
    logits = np.array([[30.0, -30.0]], dtype="float32")
    # A confidently wrong logit pair: the clipped probability loss would
    # stop at -log(1e-7) ~ 16.1; from logits it is the full 60.
    value = float(loss(np.array([1]), logits))
    assert value == pytest.approx(60.0, rel=1e-4)


def test_a_softmax_model_is_trained_with_a_warning():
    model = models.build_ffnn((4,), [3], 2, output_activation="softmax")
    assert protocol.ends_in_softmax(model)
    with pytest.warns(UserWarning, match="ends in a softmax"):
        loss = protocol.PAPER_PROTOCOL.make_loss(model)
    assert loss.get_config()["from_logits"] is False


def test_with_probabilities_shares_the_weights():
    keras.utils.set_random_seed(0)
    model = models.build_ffnn((4,), [3], 2)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    probabilities = models.with_probabilities(model).predict(x, verbose=0)
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(x)))
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)


def test_from_logits_must_be_a_bool():
    with pytest.raises(ValueError, match="from_logits"):
        protocol.TrainingProtocol(from_logits="yes")
