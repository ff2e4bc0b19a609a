"""Failed trials: detected, reported as they happen, and never fatal.

KerasTuner catches an exception raised in a trial and marks the trial
``FAILED`` (`keras_tuner.errors.FailedTrialError`) or ``INVALID`` (any other
error; retried ``max_retries_per_trial`` times, then ``FAILED``), with the
traceback as the trial's message. It aborts the whole search after
``max_consecutive_failed_trials`` failures in a row; `keras_detinit.tuning`
raises that limit so a failure only skips its trial.

Example:

>>> failure_reason("Traceback ...\\nkeras_tuner.src.errors.FailedTrialError: "
...                "non-finite training loss (nan) in epoch 1\\n")
'FailedTrialError: non-finite training loss (nan) in epoch 1'
"""

from __future__ import annotations

import math
import re

import keras
import keras_tuner

#: Trial statuses of a trial that did not complete.
FAILED_STATUSES = ("FAILED", "INVALID")


class NonFiniteLoss(keras.callbacks.Callback):
    """Fails the KerasTuner trial once the training loss is NaN or infinite.

    Keras keeps training on a NaN loss, and the trial would then be scored
    on a broken model. At the end of an epoch whose mean training loss is
    not finite (a NaN in any batch makes the mean NaN), this callback raises
    `keras_tuner.errors.FailedTrialError`: the tuner records the trial as
    ``FAILED`` with this message and goes on with the next one.
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise keras_tuner.errors.FailedTrialError(
                f"non-finite training loss ({float(loss)}) in epoch {epoch + 1}"
            )


class ReportFailures:
    """Tuner mixin: prints a line for each trial that failed, as it ends."""

    def on_trial_end(self, trial):
        if trial.status in FAILED_STATUSES:
            print(
                f"Trial {trial.trial_id} failed and is skipped: "
                f"{failure_reason(trial.message)}"
            )
        super().on_trial_end(trial)


def failure_reason(message: str | None) -> str:
    """The last line of a failed trial's traceback, without module paths."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return "no error message"
    return re.sub(r"^(?:\w+\.)+(\w+:)", r"\1", lines[-1])
