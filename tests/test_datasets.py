"""Datasets: IDX parsing, validation, search order, few-shot and split.

Unit tests write their own tiny IDX files; nothing here uses the network
(every Keras loader is replaced by one that fails the test if called).
"""

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from keras_detinit import datasets
from keras_detinit.datasets import idx
from keras_detinit.datasets import locate

from idx_files import NAMES
from idx_files import examples
from idx_files import forbid_downloads
from idx_files import idx_bytes
from idx_files import write
from idx_files import write_dataset
from idx_files import write_npz
from idx_files import replace_spec

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Point every search place into tmp_path; forbid downloads."""
    home = tmp_path / "home"
    # Keras creates its home on import; without it the search would also
    # try Keras' fallback cache under /tmp.
    (home / ".keras").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    forbid_downloads(monkeypatch)
    replace_spec(monkeypatch, "fashion_mnist",
                 system_directory=tmp_path / "debian" / "fashion-mnist")
    return tmp_path


def source_size(name, **kwargs):
    data = datasets.load_dataset(name, download=False, **kwargs)
    return data.source, len(data.train.y)


# --- IDX parsing ---------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_raw_and_gzip(tmp_path, gz):
    images = np.random.default_rng(0).integers(0, 256, (3, 4, 5), np.uint8)
    labels = np.array([7, 0, 9], np.uint8)
    image_file = write(tmp_path / "images", idx_bytes(images), gz)
    label_file = write(tmp_path / "labels", idx_bytes(labels), gz)
    read_images, read_labels = idx.read_examples(image_file, label_file)
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    assert read_images.dtype == np.uint8 and read_images.shape == (3, 4, 5)


@pytest.mark.parametrize("gz", [False, True])
def test_loaded_images_are_scaled_float32(tmp_path, gz):
    arrays = write_dataset(tmp_path / "mnist", n_train=20, gz=gz)
    arrays["train_images"][1, 5, :3] = [0, 51, 255]
    write(tmp_path / "mnist" / (NAMES["train_images"] + (".gz" if gz else "")),
          idx_bytes(arrays["train_images"]), gz)
    (x, y), (x_test, y_test) = datasets.load_mnist(tmp_path, download=False)
    assert x.dtype == np.float32 and x_test.dtype == np.float32
    assert y.dtype == np.int64 and y_test.dtype == np.int64
    assert x.shape == (20, 28, 28) and x_test.shape == (10, 28, 28)
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[1, 5, :3], [0.0, 0.2, 1.0], rtol=1e-7)
    np.testing.assert_allclose(x * 255, arrays["train_images"], atol=1e-4)
    np.testing.assert_array_equal(y, arrays["train_labels"])


@pytest.mark.parametrize(
    "magic, problem",
    [
        (2049, "this is an IDX labels file"),
        (0x01000803, "not an IDX file"),
        (0x0D03, "data type 0x0D"),
    ],
)
def test_bad_magic_number(tmp_path, magic, problem):
    path = write(tmp_path / "images", idx_bytes(np.zeros((2, 3, 3)), magic))
    with pytest.raises(idx.DatasetError) as error:
        idx.read_images(path)
    message = str(error.value)
    assert str(path) in message and problem in message
    assert f"bad magic number {magic}" in message and "expected 2051" in message


def test_labels_file_needs_labels_magic(tmp_path):
    path = write(tmp_path / "labels", idx_bytes(np.zeros((2, 3, 3))))
    with pytest.raises(idx.DatasetError, match="expected 2049"):
        idx.read_labels(path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "change, problem",
    [(lambda data: data[:-1], "truncated payload: 17 bytes"),
     (lambda data: data + b"\0", "oversized payload: 19 bytes"),
     (lambda data: data[:10], "truncated IDX header")],
)
def test_payload_must_match_header(tmp_path, gz, change, problem):
    data = change(idx_bytes(np.ones((2, 3, 3))))
    path = write(tmp_path / "images.gz", data, gz)
    with pytest.raises(idx.DatasetError) as error:
        idx.read_images(path)
    assert str(path) in str(error.value) and problem in str(error.value)


def test_zero_dimension_rejected(tmp_path):
    path = write(tmp_path / "images", idx_bytes(np.zeros((0, 28, 28))))
    with pytest.raises(idx.DatasetError, match=r"\(0, 28, 28\)"):
        idx.read_images(path)


def test_image_and_label_counts_must_agree(tmp_path):
    images = write(tmp_path / "images", idx_bytes(np.zeros((5, 2, 2))))
    labels = write(tmp_path / "labels", idx_bytes(np.zeros(4)))
    with pytest.raises(idx.DatasetError) as error:
        idx.read_examples(images, labels)
    message = str(error.value)
    assert "5 images but 4 labels" in message
    assert str(images) in message and str(labels) in message


@pytest.mark.parametrize(
    "corrupt",
    [lambda data: data[: len(data) // 2],  # stream ends early
     lambda data: data[:12] + bytes(b ^ 0xFF for b in data[12:-8])
     + data[-8:]],  # scrambled deflate data
)
def test_corrupt_gzip_stream(tmp_path, corrupt):
    data = gzip.compress(idx_bytes(np.arange(200).reshape(2, 10, 10)))
    path = write(tmp_path / "images.gz", corrupt(data))
    with pytest.raises(idx.DatasetError) as error:
        idx.read_images(path)
    assert str(path) in str(error.value)
    assert "corrupt gzip stream" in str(error.value)


def test_invalid_file_in_found_directory_is_an_error(tmp_path):
    write_dataset(tmp_path, n_train=20)
    write(tmp_path / (NAMES["test_labels"] + ".gz"), b"\x1f\x8bgarbage")
    with pytest.raises(idx.DatasetError, match="corrupt gzip stream"):
        datasets.load_mnist(tmp_path, download=False)


def test_incomplete_directory_names_missing_file(tmp_path):
    write_dataset(tmp_path, n_train=20)
    (tmp_path / (NAMES["train_labels"] + ".gz")).unlink()
    with pytest.raises(idx.DatasetError) as error:
        datasets.load_mnist(tmp_path, download=False)
    assert "incomplete" in str(error.value)
    assert NAMES["train_labels"] in str(error.value)


def test_images_must_be_28_by_28(tmp_path):
    for key, shape in [("train_images", (3, 5, 5)), ("test_images", (3, 5, 5)),
                       ("train_labels", (3,)), ("test_labels", (3,))]:
        write(tmp_path / "mnist" / NAMES[key], idx_bytes(np.zeros(shape)))
    with pytest.raises(idx.DatasetError, match=r"expected uint8 of shape "
                       r"\(N, 28, 28\)"):
        datasets.load_mnist(tmp_path, download=False)


def test_labels_must_be_classes(tmp_path):
    arrays = write_dataset(tmp_path / "mnist", n_train=20, gz=False)
    arrays["test_labels"][3] = 10
    write(tmp_path / "mnist" / NAMES["test_labels"], idx_bytes(arrays["test_labels"]))
    with pytest.raises(idx.DatasetError, match=r"test set.*\[0, 10\]"):
        datasets.load_mnist(tmp_path, download=False)


# --- Search order ----------------------------------------------------------


def test_explicit_dir_beats_env_var_beats_keras_cache(isolated, monkeypatch):
    write_dataset(isolated / "explicit" / "mnist", n_train=20)
    write_dataset(isolated / "env" / "mnist", n_train=30)
    keras_home = isolated / "keras_home"
    write_npz(keras_home / "datasets" / "mnist.npz", n_train=40)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv(datasets.ENV_VAR, str(isolated / "env"))

    explicit = source_size("mnist", data_dir=isolated / "explicit")
    assert explicit == (f"IDX files in {isolated / 'explicit' / 'mnist'}", 20)
    assert source_size("mnist") == (f"IDX files in {isolated / 'env' / 'mnist'}", 30)
    monkeypatch.delenv(datasets.ENV_VAR)
    cache = keras_home / "datasets" / "mnist.npz"
    assert source_size("mnist") == (f"Keras cache {cache}", 40)


def test_fashion_mnist_os_package_dir_between_env_and_cache(isolated,
                                                            monkeypatch):
    debian = locate.SPECS["fashion_mnist"].system_directory
    cache = isolated / "home" / ".keras" / "datasets" / "fashion-mnist"
    write_dataset(isolated / "env" / "fashion-mnist", n_train=20)
    write_dataset(debian, n_train=30, gz=False)
    write_dataset(cache, n_train=40)
    monkeypatch.setenv(datasets.ENV_VAR, str(isolated / "env"))

    env = isolated / "env" / "fashion-mnist"
    assert source_size("fashion_mnist") == (f"IDX files in {env}", 20)
    monkeypatch.delenv(datasets.ENV_VAR)
    assert source_size("fashion-mnist") == (f"IDX files in {debian}", 30)
    for path in debian.iterdir():
        path.unlink()
    assert source_size("fmnist") == (f"IDX files in {cache}", 40)


def test_mnist_ignores_fashion_mnist_os_package_dir(isolated):
    write_dataset(locate.SPECS["fashion_mnist"].system_directory, n_train=20)
    with pytest.raises(idx.DatasetError, match="MNIST was not found"):
        datasets.load_mnist(download=False)


def test_one_data_dir_serves_both_datasets(isolated):
    write_dataset(isolated / "data" / "mnist", n_train=20)
    write_dataset(isolated / "data" / "fashion-mnist", n_train=30)
    mnist = datasets.load_dataset("mnist", isolated / "data", download=False)
    fashion = datasets.load_dataset("fmnist", str(isolated / "data"),
                                    download=False)
    assert (len(mnist.train.y), len(fashion.train.y)) == (20, 30)
    assert mnist.source.endswith("data/mnist")
    assert fashion.source.endswith("data/fashion-mnist")


@pytest.mark.parametrize("keras_home_set", [False, True])
def test_keras_cache_mnist_npz(isolated, monkeypatch, keras_home_set):
    keras_home = isolated / "home" / ".keras"
    if keras_home_set:
        keras_home = isolated / "elsewhere"
        monkeypatch.setenv("KERAS_HOME", str(keras_home))
    write_npz(keras_home / "datasets" / "mnist.npz", n_train=40)
    (x, y), (x_test, _) = datasets.load_mnist(download=False)
    expected, _ = examples(40)
    np.testing.assert_array_equal(x * 255, expected)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x_test.shape == (10, 28, 28)


def test_corrupt_keras_cache_npz(isolated):
    path = write(isolated / "home" / ".keras" / "datasets" / "mnist.npz",
                 b"not a zip archive")
    with pytest.raises(idx.DatasetError) as error:
        datasets.load_mnist(download=False)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("env_set", [False, True])
def test_not_found_lists_every_place(isolated, monkeypatch, env_set):
    keras_home = isolated / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    if env_set:
        monkeypatch.setenv(datasets.ENV_VAR, str(isolated / "env"))
    with pytest.raises(idx.DatasetError) as error:
        datasets.load_fashion_mnist(download=False)
    message = str(error.value)
    assert "data_dir argument: not given" in message
    tried = [locate.SPECS["fashion_mnist"].system_directory,
             keras_home / "datasets" / "fashion-mnist"]
    if env_set:
        tried += [isolated / "env", isolated / "env" / "fashion-mnist"]
        assert f"{datasets.ENV_VAR}='{isolated / 'env'}'" in message
    else:
        assert f"{datasets.ENV_VAR}: not set" in message
    for path in tried:
        assert str(path) in message
    assert "not attempted, because download=False" in message
    assert "pass data_dir=DIR" in message
    assert f"set the environment variable {datasets.ENV_VAR}" in message


@pytest.mark.parametrize("exists", [False, True])
def test_named_data_dir_without_the_data_fails_clearly(isolated, exists):
    # Even with a usable copy in Keras' cache, a named directory is the only
    # place searched.
    write_npz(isolated / "home" / ".keras" / "datasets" / "mnist.npz", n_train=40)
    given = isolated / "given"
    if exists:
        given.mkdir()
    with pytest.raises(idx.DatasetError) as error:
        datasets.load_mnist(given, download=True)
    message = str(error.value)
    assert f"data_dir='{given}'" in message
    assert ("holds no IDX files" if exists else "does not exist") in message
    assert str(given / "mnist") in message


def test_failed_download_is_reported(monkeypatch):
    def offline():
        raise OSError("network unreachable")

    replace_spec(monkeypatch, "mnist", keras_loader=offline)
    with pytest.raises(idx.DatasetError) as error:
        datasets.load_mnist(download=True)
    message = str(error.value)
    assert "data_dir argument: not given" in message
    assert "keras.datasets.mnist.load_data()" in message
    assert "failed with OSError: network unreachable" in message


def test_download_result_is_converted(monkeypatch):
    train, test = examples(20), examples(10, 20)
    replace_spec(monkeypatch, "mnist", keras_loader=lambda: (train, test))
    data = datasets.load_dataset("mnist", download=True)
    assert data.source == "Keras download (keras.datasets.mnist.load_data())"
    np.testing.assert_array_equal(data.test.x * 255, test[0])
    assert data.train.x.dtype == np.float32 and data.test.y.dtype == np.int64


def test_unknown_name_lists_accepted_names():
    with pytest.raises(ValueError) as error:
        datasets.load_dataset("cifar10", download=False)
    for name in ("mnist", "fashion_mnist", "fashion-mnist", "fmnist"):
        assert repr(name) in str(error.value)


# --- Few-shot subsampling ------------------------------------------------


def labels_with_counts(counts):
    return np.repeat(np.arange(len(counts)), counts)[::-1].copy()


def test_few_shot_takes_exactly_k_per_class():
    y = labels_with_counts([9, 5, 12, 7])
    x = np.arange(len(y)) * 10
    x_few, y_few = datasets.sample_per_class(x, y, 5, seed=3)
    np.testing.assert_array_equal(np.bincount(y_few), [5, 5, 5, 5])
    np.testing.assert_array_equal(y[x_few // 10], y_few)
    assert len(np.unique(x_few)) == 20


def test_few_shot_is_deterministic_per_seed():
    y = labels_with_counts([50] * 10)
    first = datasets.few_shot_indices(y, 5, seed=7)
    np.testing.assert_array_equal(first, datasets.few_shot_indices(y, 5, seed=7))
    assert not np.array_equal(first, datasets.few_shot_indices(y, 5, seed=8))


def test_few_shot_rejects_small_classes_and_bad_k():
    y = labels_with_counts([9, 2, 12])
    with pytest.raises(ValueError, match=r"\{1: 2\}"):
        datasets.few_shot_indices(y, 3)
    with pytest.raises(ValueError, match=r"\{3: 0\}"):
        datasets.few_shot_indices(y, 1, num_classes=4)
    with pytest.raises(ValueError, match="samples_per_class"):
        datasets.few_shot_indices(y, 0)
    with pytest.raises(ValueError, match="seed"):
        datasets.few_shot_indices(y, 1, seed=-1)


# --- Validation split ------------------------------------------------------


@pytest.mark.parametrize("counts", [[100] * 10, [7, 13, 20, 33, 1]])
def test_stratified_split_sizes(counts):
    y = labels_with_counts(counts)
    train, held_out = datasets.split_indices(y, 0.15, seed=0)
    assert len(held_out) == math.floor(0.15 * len(y) + 0.5)
    np.testing.assert_array_equal(np.sort(np.r_[train, held_out]),
                                  np.arange(len(y)))
    per_class = np.bincount(y[held_out], minlength=len(counts))
    share = 0.15 * np.asarray(counts)
    assert np.all((np.floor(share) <= per_class) & (per_class <= np.ceil(share)))


def test_split_returns_matching_rows_and_is_deterministic():
    y = labels_with_counts([30] * 10)
    x = np.arange(len(y)) * 10
    (x_tr, y_tr), (x_val, y_val) = datasets.train_validation_split(x, y,
                                                                  seed=5)
    assert (len(y_tr), len(y_val)) == (255, 45)
    np.testing.assert_array_equal(y[x_val // 10], y_val)
    assert not set(x_tr) & set(x_val)
    again = datasets.train_validation_split(x, y, seed=5)
    np.testing.assert_array_equal(again[1][0], x_val)
    other = datasets.train_validation_split(x, y, seed=6)
    assert not np.array_equal(other[1][0], x_val)


def test_unstratified_split_size():
    y = labels_with_counts([40, 60])
    train, held_out = datasets.split_indices(y, 0.3, seed=1, stratify=False)
    assert (len(train), len(held_out)) == (70, 30)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan"), None])
def test_split_fraction_must_be_in_open_unit_interval(fraction):
    with pytest.raises(ValueError, match=r"validation_fraction.*\(0, 1\)"):
        datasets.split_indices(np.arange(10), fraction)


def test_split_needs_both_parts_nonempty():
    with pytest.raises(ValueError, match="0 validation samples"):
        datasets.split_indices(np.arange(3), 0.1)


def test_load_dataset_splits_then_subsamples(isolated):
    write_dataset(isolated / "mnist", n_train=60, n_test=20)
    data = datasets.load_dataset("mnist", isolated, samples_per_class=2,
                                 validation_fraction=0.5, seed=4,
                                 download=False)
    np.testing.assert_array_equal(np.bincount(data.train.y), [2] * 10)
    np.testing.assert_array_equal(np.bincount(data.validation.y), [3] * 10)
    train_ids = np.round(data.train.x[:, 0, 0] * 255)
    validation_ids = np.round(data.validation.x[:, 0, 0] * 255)
    assert not set(train_ids) & set(validation_ids)
    assert len(data.test.y) == 20 and data.num_classes == 10
    (x_train, y_train), (x_test, y_test) = data
    assert x_train is data.train.x and y_test is data.test.y


# --- Real data -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared data absent")
def test_real_mnist_and_fashion_mnist():
    (x, y), (x_test, y_test) = datasets.load_mnist(SHARED_DATA, download=False)
    assert x.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() == 1
    np.testing.assert_array_equal(
        np.bincount(y),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    )
    (x, y), (x_test, y_test) = datasets.load_fashion_mnist(SHARED_DATA,
                                                           download=False)
    assert x.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
