"""The benchmarks' timing helper (benchmarks/timing.py) and its scripts."""

import doctest
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _load_timing():
    spec = importlib.util.spec_from_file_location("benchmark_timing", BENCHMARKS / "timing.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


timing = _load_timing()


def test_docstring_examples_run():
    failures, tried = doctest.testmod(timing)
    assert tried > 0 and failures == 0


def test_warmup_runs_first_and_is_not_timed():
    calls = []

    def slow_first():
        calls.append("slow_first")
        if len(calls) == 1:
            time.sleep(0.2)  # stands for compilation on the first call

    result = timing.time_side_by_side({"a": slow_first}, repeats=3, warmup=1)
    assert len(calls) == 4
    assert len(result["a"].runs) == 3
    assert max(result["a"].runs) < 0.1

    calls.clear()
    cold = timing.time_side_by_side({"a": slow_first}, repeats=3, warmup=0)
    assert cold["a"].runs[0] >= 0.2


def test_candidates_are_interleaved_after_all_warmups():
    order = []
    candidates = {name: (lambda name=name: order.append(name)) for name in "abc"}
    timing.time_side_by_side(candidates, repeats=2, warmup=1)
    assert order == list("abc") * 3


def test_custom_measure_keeps_the_seconds_a_run_reports():
    reported = iter([9.0, 5.0, 1.0, 3.0, 2.0])  # the first is the warm-up

    result = timing.time_side_by_side(
        {"epoch": lambda: next(reported)}, repeats=4, measure=lambda run: run()
    )
    assert result["epoch"].runs == (5.0, 1.0, 3.0, 2.0)
    assert result["epoch"].best == 1.0
    assert result["epoch"].median == 2.5


def test_timing_ratio_and_summary():
    slow, fast = timing.Timing((6.0, 2.0, 4.0)), timing.Timing((1.0, 3.0, 2.0))
    assert slow.ratio(fast) == {"best": 2.0, "median": 2.0}
    assert slow.summary() == {"best_s": 2.0, "median_s": 4.0, "runs_s": [6.0, 2.0, 4.0]}
    # Significant digits, so that sub-millisecond runs keep their precision.
    assert timing.Timing((1.23456e-5,)).summary(digits=3)["best_s"] == 1.23e-5


def test_wall_seconds_waits_for_backend_tensors_in_structures():
    seconds = timing.wall_seconds(
        lambda: {"kernel": keras.ops.ones((256, 256)) * 2.0, "n": 3, "none": None}
    )
    assert np.isfinite(seconds) and seconds > 0.0


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(repeats=0), "`repeats` must be an integer >= 1. Received: repeats=0"),
        (dict(repeats=2.0), "`repeats` must be an integer >= 1. Received: repeats=2.0"),
        (dict(warmup=-1), "`warmup` must be an integer >= 0. Received: warmup=-1"),
    ],
)
def test_bad_counts_raise_before_any_call(arguments, message):
    calls = []
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        timing.time_side_by_side({"a": lambda: calls.append(1)}, **arguments)
    assert calls == []


def test_no_candidates_raise():
    with pytest.raises(ValueError, match="`candidates` must name at least one"):
        timing.time_side_by_side({})


def _run_script(name: str, out: pathlib.Path, *arguments: str) -> tuple[int, dict]:
    """Run a benchmark script; its exit status and the JSON it wrote."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--out", str(out), *arguments],
        capture_output=True, text=True, env=env,
    )
    assert process.returncode in (0, 1), process.stderr
    stem = name.removeprefix("bench_").removesuffix(".py")
    result = json.loads((out / f"{stem}_{keras.backend.backend()}.json").read_text())
    return process.returncode, result


@pytest.mark.slow
def test_sinusoidal_benchmark_reports_side_by_side_ratios(tmp_path):
    status, result = _run_script(
        "bench_sinusoidal.py", tmp_path, "--sizes", "64", "--repeats", "3"
    )
    assert result["timing"]["repeats"] == 3 and result["timing"]["warmup"] == 2
    (row,) = result["rows"]
    assert len(row["sinusoidal"]["runs_s"]) == len(row["glorot_uniform"]["runs_s"]) == 3
    for name in ("sinusoidal", "glorot_uniform"):
        assert row[name]["best_s"] == min(row[name]["runs_s"])
    ratio = row["sinusoidal"]["best_s"] / row["glorot_uniform"]["best_s"]
    assert row["ratio_best"] == pytest.approx(ratio, rel=0.01, abs=1e-3)
    # Tiny kernels may miss the target; the exit status must say so.
    assert status == (0 if row["meets_target"] else 1)
    assert row["meets_target"] == (max(row["ratio_best"], row["ratio_median"]) <= 1.5)
    assert (tmp_path / f"sinusoidal_{keras.backend.backend()}.md").exists()


@pytest.mark.slow
def test_epsilon_orthogonal_benchmark_checks_against_qr(tmp_path):
    status, result = _run_script(
        "bench_epsilon_orthogonal.py", tmp_path, "--sizes", "64", "--repeats", "2"
    )
    assert status == 0
    assert [row["shape"] for row in result["rows"]] == ["64x64", "64x32"]
    for row in result["rows"]:
        assert len(row["epsilon_orthogonal"]["runs_s"]) == 2
        assert row["max_diff_vs_qr"] < 1e-5
        assert row["max_orth_error"] < 1e-5
