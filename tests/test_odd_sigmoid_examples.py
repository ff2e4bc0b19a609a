"""The odd-sigmoid experiment scripts, with tiny settings.

Each runs as a subprocess on tiny IDX files written here, with the backend
of the test run, and must write its CSV, markdown report and figures.
"""

import csv

import pytest

pytestmark = pytest.mark.slow  # three subprocesses, each importing every backend

# The subprocess runner; the tiny data folder is conftest.py's data_dir.
from test_examples import run_example

PNG = b"\x89PNG\r\n\x1a\n"


def run_script(name, data_dir, out, *args):
    stdout, _ = run_example(name, data_dir, "--out", str(out), *args)
    return stdout


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def check_report(out, stem, figures):
    report = (out / f"{stem}.md").read_text()
    assert f"examples/{stem}" in report or "python examples/" in report
    assert "Backend: " in report and "Wall time: " in report
    for suffix in figures:
        assert (out / f"{stem}_{suffix}.png").read_bytes()[:8] == PNG
    return report


def test_scale_robustness(data_dir, tmp_path):
    initializers = ("odd_sigmoid", "odd_sigmoid:band",
                    "odd_sigmoid:floor=0.01,width_margin=1", "he_normal")
    stdout = run_script(
        "odd_sigmoid_scale_robustness", data_dir, tmp_path, "--epochs", "1", "--depth", "2",
        "--activations", "tanh:2", "softsign", "--initializers", *initializers,
        "--seeds", "2")
    assert "tanh(2x) odd_sigmoid seed 0: validation accuracy" in stdout
    assert "softsign(x) odd_sigmoid:band seed 1: validation accuracy" in stdout
    table = rows(tmp_path / "scale_robustness.csv")
    assert {(r["activation"], r["initializer"], r["seed"]) for r in table} == {
        (activation, initializer, str(seed)) for activation in ("tanh(2x)", "softsign(x)")
        for initializer in initializers for seed in (0, 1)}
    report = check_report(tmp_path, "scale_robustness", ["accuracy"])
    assert "| `odd_sigmoid` |" in report and "--activations tanh:2 softsign" in report
    assert "| `odd_sigmoid:floor=0.01,width_margin=1` |" in report and " ± " in report


def test_signal_propagation(data_dir, tmp_path):
    stdout = run_script(
        "odd_sigmoid_signal_propagation", data_dir, tmp_path, "--depth", "4",
        "--widths", "8", "--seeds", "1", "--batch", "16", "--activations", "tanh:2",
        "--initializers", "odd_sigmoid", "odd_sigmoid:band")
    assert "tanh(2x) odd_sigmoid width 8: second moment" in stdout
    assert "tanh(2x) odd_sigmoid:band width 8: second moment" in stdout
    table = rows(tmp_path / "signal_propagation.csv")
    assert [int(r["layer"]) for r in table] == [1, 2, 3, 4] * 2
    assert all(0 < float(r["second_moment"]) <= 1 for r in table)
    report = check_report(tmp_path, "signal_propagation", ["second_moment"])
    assert "Jacobian spread" in report


def test_data_efficiency(data_dir, tmp_path):
    stdout = run_script(
        "odd_sigmoid_data_efficiency", data_dir, tmp_path, "--epochs", "1", "--depth", "2",
        "--width", "8", "--samples", "20", "--seeds", "1", "--datasets", "fashion_mnist",
        "--initializers", "odd_sigmoid", "glorot_normal")
    assert "fashion_mnist 20 samples seed 0 odd_sigmoid: test accuracy" in stdout
    assert len(rows(tmp_path / "data_efficiency.csv")) == 2
    check_report(tmp_path, "data_efficiency", ["accuracy"])
