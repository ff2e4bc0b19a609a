"""Finding a dataset's files, in a fixed search order, and reading them.

The search order and the environment variable are documented in
`keras_detinit.datasets`. Every place is tried in turn; the first that holds
the dataset is read, and when none does the error lists them all.

Example:

>>> spec = get_spec("fmnist")
>>> spec.name, spec.subdirectory
('fashion_mnist', 'fashion-mnist')
>>> (train, test), source = load_arrays(
...     spec, "/data", download=False
... )  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from keras_detinit.datasets import idx

ENV_VAR = "KERAS_DETINIT_DATA_DIR"

# The standard file names; each may also carry a ".gz" suffix.
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Where one dataset may be found.

    Attributes:
        name: Canonical name, e.g. ``"fashion_mnist"``.
        title: Human-readable name for messages.
        subdirectory: Subdirectory of a data directory that may hold the files.
        system_directory: A directory where an OS package installs the files,
            or None.
        keras_cache: The file (``.npz``) or directory that
            ``keras.datasets.<name>.load_data()`` caches, relative to
            ``<Keras home>/datasets``.
        keras_loader: Keras' own loader, which downloads on first use.
        class_names: Label names, indexed by label.
        labels_sha256: SHA-256 of the published training labels followed by
            the test labels (as ``uint8`` bytes): MNIST and Fashion-MNIST
            share their file names, but never their labels.
    """

    name: str
    title: str
    subdirectory: str
    system_directory: Path | None
    keras_cache: str
    keras_loader: Callable[[], Arrays]
    class_names: tuple[str, ...]
    labels_sha256: str = ""


SPECS = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        subdirectory="mnist",
        system_directory=None,
        keras_cache="mnist.npz",
        keras_loader=keras.datasets.mnist.load_data,
        class_names=tuple(str(digit) for digit in range(10)),
        labels_sha256="671ff9d70b4811116d55c3dd479efa7a981e2e62753ef7a6d5c15fea81e63d27",
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        title="Fashion-MNIST",
        subdirectory="fashion-mnist",
        system_directory=Path("/usr/share/datasets/fashion-mnist"),
        keras_cache="fashion-mnist",
        keras_loader=keras.datasets.fashion_mnist.load_data,
        class_names=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
        labels_sha256="8ab940a680640f36c0bf1d2549cb2f3b3d4068c12547116cc7b1161b1d26663d",
    ),
}
ALIASES = {"fashion-mnist": "fashion_mnist", "fmnist": "fashion_mnist"}


def get_spec(name: str) -> DatasetSpec:
    """Return the `DatasetSpec` for a dataset name or alias.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"``, ``"fashion-mnist"`` or
            ``"fmnist"`` (case-insensitive).

    Returns:
        The dataset's `DatasetSpec`.

    Raises:
        ValueError: For any other name; the message lists the accepted ones.

    Example:

    >>> get_spec("MNIST").title
    'MNIST'
    """
    key = name.lower() if isinstance(name, str) else name
    key = ALIASES.get(key, key)
    if key not in SPECS:
        accepted = tuple(SPECS) + tuple(ALIASES)
        raise ValueError(
            f"`name` must be one of {accepted}. Received: name={name!r}"
        )
    return SPECS[key]


def keras_home() -> Path:
    """Keras' home directory, resolved now the way Keras resolves it.

    ``$KERAS_HOME`` if set, else ``~/.keras`` (``/tmp/.keras`` when the home
    directory is not writable).

    Example:

    >>> keras_home()  # doctest: +SKIP
    PosixPath('/home/user/.keras')
    """
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    base = os.path.expanduser("~")
    return Path(base if os.access(base, os.W_OK) else "/tmp", ".keras")


def load_arrays(
    spec: DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[Arrays, str]:
    """Find a dataset by the documented search order and read it.

    Args:
        spec: The dataset, from `get_spec`.
        data_dir: A directory holding the four IDX files, directly or in the
            subdirectory ``spec.subdirectory``. When given, it is the only
            place searched.
        download: Whether Keras may download the dataset when no place holds
            it.

    Returns:
        ``(((x_train, y_train), (x_test, y_test)), source)``: ``uint8``
        arrays as stored, and a description of where they came from.

    Raises:
        DatasetError: If the files found are invalid, or the dataset is
            nowhere and cannot be downloaded; the message then lists every
            place searched and how to fix it.

    Example:

    >>> (train, test), source = load_arrays(
    ...     get_spec("mnist"), "/data", download=False
    ... )  # doctest: +SKIP
    >>> source  # doctest: +SKIP
    'IDX files in /data/mnist'
    """
    if data_dir is not None:
        return _load_from_named_dir(spec, data_dir)
    searched = []
    for place, paths in _places(spec):
        for path in paths:
            found = _read_if_present(path)
            if found is not None:
                return check_identity(spec, found, vouched=_vouched(spec, path))
        tried = ", ".join(str(path) for path in paths)
        searched.append(f"{place}: not found in {tried}" if paths else place)
    if not download:
        searched.append(
            f"5. Keras download ({_loader_name(spec)}): not attempted, "
            "because download=False."
        )
    else:
        try:
            return spec.keras_loader(), f"Keras download ({_loader_name(spec)})"
        except Exception as error:  # Keras raises many types, all reported.
            searched.append(
                f"5. Keras download ({_loader_name(spec)}): failed with "
                f"{type(error).__name__}: {error}"
            )
    raise idx.DatasetError(_not_found_message(spec, searched))


def _load_from_named_dir(spec: DatasetSpec, data_dir) -> tuple[Arrays, str]:
    """Read from the directory the caller named, and nowhere else.

    A named directory that lacks the data is a mistake worth reporting: the
    caller expects those files, not a copy found elsewhere.
    """
    paths = _data_dirs(spec, data_dir)
    for path in paths:
        found = _read_if_present(path)
        if found is not None:
            return check_identity(spec, found, vouched=_vouched(spec, path))
    tried = ", ".join(str(path) for path in paths)
    problem = "does not exist" if not Path(data_dir).expanduser().is_dir() else (
        "holds no IDX files of this dataset"
    )
    files = ", ".join(f"{name}[.gz]" for name in IDX_NAMES)
    raise idx.DatasetError(
        f"{spec.title} was not found in data_dir={str(data_dir)!r}: the "
        f"directory {problem}. Looked in {tried} for {files}. A named data_dir "
        "is the only place searched; omit it to search the environment "
        f"variable {ENV_VAR}, the OS package directory, Keras' cache and "
        "Keras' download."
    )


def labels_fingerprint(arrays: Arrays) -> str:
    """SHA-256 of the training labels followed by the test labels, as ``uint8``."""
    digest = hashlib.sha256()
    for _, labels in arrays:
        digest.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def check_identity(spec: DatasetSpec, found: tuple[Arrays, str],
                   vouched: bool) -> tuple[Arrays, str]:
    """Make sure the arrays read are the dataset asked for; return them.

    The published MNIST and Fashion-MNIST files are told apart by their
    labels' checksum, whatever folder holds them. Other content (a subset,
    a copy of one's own) is trusted only where the place is named for the
    dataset (``vouched``): a subfolder ``mnist`` or ``fashion-mnist``, or a
    place that only ever holds this dataset.

    Args:
        spec: The dataset asked for.
        found: ``(arrays, source)`` as read.
        vouched: Whether the place read is named for ``spec``'s dataset.

    Raises:
        DatasetError: If the files are another dataset's, or of unknown
            content in a place not named for the dataset.
    """
    arrays, source = found
    fingerprint = labels_fingerprint(arrays)
    if fingerprint == spec.labels_sha256:
        return found
    for other in SPECS.values():
        if other.name != spec.name and fingerprint == other.labels_sha256:
            raise idx.DatasetError(
                f"{source} holds {other.title}, not {spec.title}: its labels are "
                f"exactly {other.title}'s (SHA-256 {fingerprint[:12]}...). Put the "
                f"{spec.title} files in a subfolder {spec.subdirectory!r} and name "
                "its parent (or that subfolder) as the data directory."
            )
    if not vouched:
        raise idx.DatasetError(
            f"Cannot tell whether {source} holds {spec.title}: its files are not the "
            f"published {spec.title} files (their labels' SHA-256 differs) and the "
            f"folder is not named for the dataset. Move them into a subfolder "
            f"{spec.subdirectory!r} of the data directory to use them as {spec.title}."
        )
    return found


def _vouched(spec: DatasetSpec, path: Path) -> bool:
    """Whether ``path`` is named for ``spec``'s dataset (``mnist.npz`` counts)."""
    names = {spec.name, spec.subdirectory} | {
        alias for alias, name in ALIASES.items() if name == spec.name}
    return path.name.split(".")[0].lower() in names


def _places(spec: DatasetSpec) -> list[tuple[str, list[Path]]]:
    """Each place in search order, as (description, paths to try)."""
    places = [("1. data_dir argument: not given", [])]
    env_value = os.environ.get(ENV_VAR)
    if not env_value:
        places.append((f"2. environment variable {ENV_VAR}: not set", []))
    else:
        places.append((
            f"2. environment variable {ENV_VAR}={env_value!r}",
            _data_dirs(spec, env_value),
        ))
    if spec.system_directory is not None:
        places.append(("3. OS package directory", [spec.system_directory]))
    home_var = os.environ.get("KERAS_HOME")
    home = f"KERAS_HOME={home_var!r}" if home_var else "KERAS_HOME not set"
    places.append((f"4. Keras cache ({home})", _keras_cache_paths(spec)))
    return places


def _data_dirs(spec: DatasetSpec, root: str | os.PathLike) -> list[Path]:
    root = Path(root).expanduser()
    return [root, root / spec.subdirectory]


def _keras_cache_paths(spec: DatasetSpec) -> list[Path]:
    home = keras_home()
    homes = [home]
    # Keras' `get_file` caches under a temporary directory instead when its
    # home is not writable.
    if not os.access(home, os.W_OK):
        temp = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
        homes.append(Path(temp, ".keras"))
    return [base / "datasets" / spec.keras_cache for base in homes]


def _read_if_present(path: Path) -> tuple[Arrays, str] | None:
    if path.suffix == ".npz":
        if not path.is_file():
            return None
        return _read_npz(path), f"Keras cache {path}"
    files = _idx_files(path)
    if files is None:
        return None
    train = idx.read_examples(files[TRAIN_IMAGES], files[TRAIN_LABELS])
    test = idx.read_examples(files[TEST_IMAGES], files[TEST_LABELS])
    return (train, test), f"IDX files in {path}"


def _idx_files(directory: Path) -> dict[str, Path] | None:
    """The four IDX files in ``directory``; None if it holds none of them."""
    if not directory.is_dir():
        return None
    files = {}
    for name in IDX_NAMES:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                files[name] = candidate
                break
    if not files:
        return None
    missing = [name for name in IDX_NAMES if name not in files]
    if missing:
        # A partial copy is a broken download, not an absent dataset: say so
        # rather than silently read another copy.
        raise idx.DatasetError(
            f"{directory}: incomplete dataset, missing {missing} (each with "
            "or without .gz). Restore the files or remove the directory."
        )
    return files


def _read_npz(path: Path) -> Arrays:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            train = arrays["x_train"], arrays["y_train"]
            test = arrays["x_test"], arrays["y_test"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise idx.DatasetError(
            f"{path}: not a valid Keras dataset archive ({error}). It must "
            "hold x_train, y_train, x_test and y_test."
        ) from error
    return train, test


def _loader_name(spec: DatasetSpec) -> str:
    return f"keras.datasets.{spec.name}.load_data()"


def _not_found_message(spec: DatasetSpec, searched: list[str]) -> str:
    files = ", ".join(f"{name}[.gz]" for name in IDX_NAMES)
    places = "\n".join(f"  {line}" for line in searched)
    return (
        f"{spec.title} was not found. Searched, in this order:\n{places}\n"
        f"To fix this, pass data_dir=DIR or set the environment variable "
        f"{ENV_VAR}=DIR, where DIR holds the four files {files}, directly "
        f"or in a subdirectory {spec.subdirectory!r}. Or call again with "
        "download=True where the network can be reached."
    )
