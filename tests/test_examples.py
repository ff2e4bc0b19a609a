"""The runnable examples, the documentation's figures and the docs build.

Each example runs as a subprocess, with tiny settings, on tiny IDX files
written here; the backend is the one of the test run (``KERAS_BACKEND`` is
inherited).
"""

import importlib.util
import math
import os
import pathlib
import re
import subprocess
import sys

import pytest

from keras_detinit import Sinusoidal
from keras_detinit.initializers import ALIASES


ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"
FIGURE_SCRIPT = DOCS / "scripts" / "make_figures.py"
COMPARISON = "glorot_uniform"
ACCURACY = r"\d\.\d{4}"


def run_example(name, data_dir, *args):
    """Run ``examples/<name>.py`` and return its stdout and stderr together."""
    env = dict(os.environ, HOME=str(data_dir.parent / "home"))
    env.pop("KERAS_DETINIT_DATA_DIR", None)
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, env=env, cwd=data_dir.parent, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return result.stdout, output


@pytest.mark.slow
def test_quickstart(data_dir):
    stdout, _ = run_example(
        "quickstart", data_dir, "--epochs", "1", "--samples-per-class", "5"
    )
    assert "50 training" in stdout
    # Theorem 3: the Dense(64) kernel (64 units < 784 inputs) has zero row
    # sums, to float32 accuracy: below 1e-5 of a sqrt(n), about the size of
    # the row sums of a random kernel with this variance.
    row_sum = re.search(r"largest \|row sum\| of the Dense\(64\) kernel: (\S+)", stdout)
    scale = Sinusoidal().amplitude((784, 64)) * math.sqrt(784)
    assert row_sum and float(row_sum.group(1)) < 1e-5 * scale
    assert re.search(rf"^test accuracy: {ACCURACY}$", stdout, re.M)
    assert "reloaded model predicts the same: True" in stdout


@pytest.mark.slow
def test_cnn_fashion_mnist(data_dir):
    stdout, output = run_example(
        "cnn_fashion_mnist", data_dir, "--epochs", "1", "--samples-per-class", "3"
    )
    assert "30 training" in stdout and "fashion-mnist" in stdout
    for name in ("sinusoidal", COMPARISON):
        line = rf"^{name}: validation accuracy {ACCURACY}, test accuracy {ACCURACY} "
        assert re.search(line, stdout, re.M), stdout[-2000:]
    # The first convolution has 16 units and 3 * 3 * 1 = 9 inputs: row 9 of
    # the paper's matrix is constant, which the initializer reports.
    assert "do not sum to zero [9]" in output


@pytest.mark.slow
def test_skewness_callback_example(data_dir, tmp_path):
    out = tmp_path / "run"
    stdout, _ = run_example(
        "skewness_callback", data_dir, "--epochs", "2", "--samples-per-class", "5",
        "--probe-size", "20", "--out", str(out),
    )
    for name in ("sinusoidal", "glorot_uniform"):
        # epoch 0 (initialization) and two epochs
        assert re.search(rf"^{name}: mean skewed fraction .* per epoch( \d\.\d{{3}}){{3}}$", stdout, re.M)
        assert (out / f"{name}.csv").read_text().count("\n") == 3
    assert (out / "skewness_per_epoch.png").stat().st_size > 0


def test_every_example_runs_in_some_test():
    tests = "\n".join(path.read_text() for path in ROOT.glob("tests/*.py"))
    untested = [
        path.name for path in sorted(EXAMPLES.glob("[!_]*.py"))
        if f'"{path.stem}"' not in tests and path.name not in tests
    ]
    assert not untested, f"examples that no test runs: {untested}"


def load_script(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figure_script_covers_every_initializer():
    pytest.importorskip("matplotlib")
    figures = load_script(FIGURE_SCRIPT, "make_figures")
    assert figures.initializer_names() == sorted(ALIASES) + [COMPARISON]


@pytest.mark.slow
def test_figure_script_writes_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    figures = load_script(FIGURE_SCRIPT, "make_figures")
    assert figures.main(["--docs-dir", str(tmp_path), "--names", "sinusoidal"]) == 0
    for path in (
        tmp_path / "initializers" / "figures" / "sinusoidal.png",
        tmp_path / "figures" / "home.png",
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_random_initializers_are_drawn_with_a_fixed_seed():
    pytest.importorskip("matplotlib")
    figures = load_script(FIGURE_SCRIPT, "make_figures")
    for name in figures.initializer_names():
        first, second = figures.generated_matrix(name), figures.generated_matrix(name)
        assert (first == second).all(), name


def test_every_initializer_has_a_committed_figure():
    names = sorted(ALIASES) + [COMPARISON]
    missing = [
        name for name in names
        if not (DOCS / "initializers" / "figures" / f"{name}.png").is_file()
    ]
    assert not missing, (
        f"figures missing for {missing}: run docs/scripts/make_figures.py"
    )
    assert (DOCS / "figures" / "home.png").is_file()


INITIALIZER_PAGES = sorted((DOCS / "initializers").glob("*.md"))


@pytest.mark.parametrize("page", INITIALIZER_PAGES, ids=lambda page: page.stem)
def test_initializer_page_shows_its_figure(page):
    assert f"](figures/{page.stem}.png)" in page.read_text()


def test_doctests_become_code_fences():
    pytest.importorskip("griffe")
    fences = load_script(DOCS / "scripts" / "doctest_fences.py", "doctest_fences")
    text = (
        "Summary.\n\nExample:\n\n>>> x = f(1,\n...       2)  # doctest: +SKIP\n"
        ">>> x\n[1, 2]\n\nMore text with [brackets]."
    )
    assert fences.fence_doctests(text) == (
        "Summary.\n\nExample:\n\n```pycon\n>>> x = f(1,\n...       2)\n"
        ">>> x\n[1, 2]\n```\n\nMore text with [brackets]."
    )


@pytest.mark.slow
def test_docs_build(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = (site / "initializers" / "sinusoidal" / "index.html").read_text()
    assert "figures/sinusoidal.png" in page
    assert (site / "initializers" / "figures" / "sinusoidal.png").is_file()
    api = (site / "api" / "initializers" / "index.html").read_text()
    assert "frequencies" in api  # the Sinusoidal docstring was rendered
