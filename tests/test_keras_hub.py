"""`reinitialize` on small keras-hub backbones built from configuration.

keras-hub hard-codes its initializers; this is where `reinitialize` is the
only way in. Skipped when keras-hub is not installed (extra ``hub``).
"""

import math
import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_detinit
from keras_detinit import shapes
from keras_detinit.initializers import Sinusoidal

keras_hub = pytest.importorskip("keras_hub")

pytestmark = pytest.mark.slow

VOCAB, HIDDEN, SEQ = 64, 16, 8


def bert():
    model = keras_hub.models.BertBackbone(
        vocabulary_size=VOCAB, num_layers=2, num_heads=2, hidden_dim=HIDDEN,
        intermediate_dim=32, max_sequence_length=SEQ,
    )
    inputs = {
        "token_ids": np.arange(2 * SEQ).reshape(2, SEQ) % VOCAB,
        "segment_ids": np.zeros((2, SEQ), "int32"),
        "padding_mask": np.ones((2, SEQ), "int32"),
    }
    return model, inputs


def vit():
    model = keras_hub.models.ViTBackbone(
        image_shape=(16, 16, 3), patch_size=4, num_layers=2, num_heads=2,
        hidden_dim=HIDDEN, mlp_dim=32,
    )
    images = np.random.default_rng(0).uniform(size=(2, 16, 16, 3)).astype("float32")
    return model, images


def llama():
    model = keras_hub.models.LlamaBackbone(
        vocabulary_size=VOCAB, num_layers=2, num_query_heads=4,
        num_key_value_heads=2, hidden_dim=HIDDEN, intermediate_dim=32,
    )
    inputs = {
        "token_ids": np.arange(2 * SEQ).reshape(2, SEQ) % VOCAB,
        "padding_mask": np.ones((2, SEQ), "int32"),
    }
    return model, inputs


BACKBONES = [bert, vit, llama]


def blocks(model, record):
    """The ``(m, n)`` matrices of a re-drawn weight."""
    variable = next(w for w in model.weights if w.path == record.weight)
    layer = _owner(model, record)
    view = next(
        v.view for v in keras_detinit.layer_view.kernel_views(layer, "ignore")
        if v.variable is variable
    )
    matrix = np.asarray(ops.convert_to_numpy(shapes.kernel_to_matrix(variable, view)), np.float64)
    return view, list(matrix.reshape(-1, view.rows, view.cols))


def _owner(model, record):
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if any(w.path == record.weight for w in keras_detinit.layer_view.own_weights(layer)):
            return layer
    raise AssertionError(record.weight)


def not_embedding(layer):
    return not isinstance(layer, keras.layers.Embedding)


def run(model, inputs, scheme, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown position embeddings; degenerate rows
        records = keras_detinit.reinitialize(model, scheme, **kwargs)
    outputs = model(inputs)
    for output in keras.tree.flatten(outputs):
        assert np.all(np.isfinite(ops.convert_to_numpy(output)))
    return records


@pytest.mark.parametrize("build", BACKBONES)
def test_sinusoidal_gives_every_kernel_its_glorot_variance(build):
    model, inputs = build()
    records = run(model, inputs, Sinusoidal(frequencies="nondegenerate"))
    kinds = {r.kind for r in records}
    assert "einsum" in kinds and "dense" in kinds
    for record in records:
        view, matrices = blocks(model, record)
        target = 2.0 / (view.fan_in + view.fan_out)
        for w in matrices:
            assert w.var() == pytest.approx(target, rel=0.05), record
            assert np.abs(w.sum(axis=1)).max() < 1e-5 * np.abs(w).max() * math.sqrt(view.cols)
    query, key = [r for r in records if r.weight.endswith(("query/kernel", "key/kernel"))][:2]
    if query.shape == key.shape:
        assert not np.allclose(blocks(model, query)[1][0], blocks(model, key)[1][0])


def redrawn(build, scheme):
    """``(record, view, W)`` of every block re-drawn outside the embeddings."""
    model, inputs = build()
    records = run(model, inputs, scheme, layers=not_embedding)
    assert records
    for record in records:
        view, matrices = blocks(model, record)
        for w in matrices:
            yield record, view, w


@pytest.mark.parametrize("build", BACKBONES)
def test_epsilon_orthogonal_kernels_are_orthogonal(build):
    for _, _, w in redrawn(build, "epsilon_orthogonal"):
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)


@pytest.mark.parametrize("build", BACKBONES)
def test_zero_leaves_no_unit_dead(build):
    for record, view, w in redrawn(build, "zero_hadamard"):
        assert np.all(np.abs(w).sum(axis=1) > 0), record
        if view.rows <= view.channels:  # the partial identity
            np.testing.assert_allclose(w @ w.T, np.eye(w.shape[0]), atol=1e-6)


@pytest.mark.parametrize("scheme", ["zero_hadamard", "epsilon_orthogonal"])
def test_token_embeddings_are_refused_with_the_layer_named(scheme):
    model, _ = bert()
    with pytest.raises(ValueError, match="token_embedding.*sinusoidal"):
        keras_detinit.reinitialize(model, scheme)
