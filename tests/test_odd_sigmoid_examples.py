"""The odd-sigmoid and sigma0 experiment scripts, with tiny settings.

Each runs as a subprocess on tiny IDX files written here, with the backend
of the test run, and must write its CSV, markdown report and figures.
"""

import csv

import pytest

pytestmark = pytest.mark.slow  # four subprocesses, each importing every backend

# The tiny MNIST / Fashion-MNIST folder and the subprocess runner.
from test_examples import data_dir  # noqa: F401  (fixture)
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
    stdout = run_script(
        "odd_sigmoid_scale_robustness", data_dir, tmp_path, "--epochs", "1", "--depth", "2",
        "--activations", "tanh:2", "softsign", "--initializers", "odd_sigmoid", "he_normal")
    assert "tanh(2x) odd_sigmoid: validation accuracy" in stdout
    table = rows(tmp_path / "scale_robustness.csv")
    assert {(r["activation"], r["initializer"]) for r in table} == {
        ("tanh(2x)", "odd_sigmoid"), ("tanh(2x)", "he_normal"),
        ("softsign(x)", "odd_sigmoid"), ("softsign(x)", "he_normal")}
    report = check_report(tmp_path, "scale_robustness", ["accuracy"])
    assert "| `odd_sigmoid` |" in report and "--activations tanh:2 softsign" in report


def test_signal_propagation(data_dir, tmp_path):
    stdout = run_script(
        "odd_sigmoid_signal_propagation", data_dir, tmp_path, "--depth", "4",
        "--widths", "4", "--seeds", "1", "--batch", "16", "--activations", "tanh:2",
        "--initializers", "odd_sigmoid")
    assert "tanh(2x) odd_sigmoid width 4: second moment" in stdout
    table = rows(tmp_path / "signal_propagation.csv")
    assert [int(r["layer"]) for r in table] == [1, 2, 3, 4]
    assert all(0 < float(r["second_moment"]) <= 1 for r in table)
    check_report(tmp_path, "signal_propagation", ["second_moment"])


def test_data_efficiency(data_dir, tmp_path):
    stdout = run_script(
        "odd_sigmoid_data_efficiency", data_dir, tmp_path, "--epochs", "1", "--depth", "2",
        "--width", "8", "--samples", "20", "--seeds", "1", "--datasets", "fashion_mnist",
        "--initializers", "odd_sigmoid", "glorot_normal")
    assert "fashion_mnist 20 samples seed 0 odd_sigmoid: test accuracy" in stdout
    assert len(rows(tmp_path / "data_efficiency.csv")) == 2
    check_report(tmp_path, "data_efficiency", ["accuracy"])


def test_sigma0_sweep(data_dir, tmp_path):
    stdout = run_script(
        "sigma0_sweep", data_dir, tmp_path, "--epochs", "1", "--sigma0", "0.05", "0.5",
        "--hidden", "8", "--max-pilots", "2", "--datasets", "mnist")
    assert "mnist sigma0=he_normal:" in stdout and "optimal_sigma0 estimate" in stdout
    table = rows(tmp_path / "sigma0_sweep.csv")
    assert {r["init"] for r in table} == {"0.05", "0.5", "he_normal"}
    assert [r["epoch"] for r in table if r["init"] == "0.5"] == ["0", "1"]
    report = check_report(tmp_path, "sigma0_sweep", ["variance", "loss_vs_v", "ratio", "accuracy"])
    assert "Grid argmin of the final training loss" in report
