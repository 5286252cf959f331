"""Waiting for a forked child in a test (the kernels' OpenMP threads can hang a child)."""

from __future__ import annotations

import os
import signal
import time

import pytest


def wait_for_child(pid: int, what: str, seconds: float = 60.0) -> None:
    """Wait for the child ``pid``; kill it and fail the test (naming ``what``) if it takes
    longer than ``seconds``."""
    deadline = time.monotonic() + seconds
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child hung in {what}")
        time.sleep(0.05)
