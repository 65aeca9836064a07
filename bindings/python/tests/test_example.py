"""examples/avatar_loop.py runs as documented: a folder of photos, the embedded model."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO, Server


def run_example(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "avatar_loop.py"), "--camera", "99", "--fps", "100", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_avatar_loop_runs_on_the_embedded_model() -> None:
    out = run_example("--frames", "8")
    assert "avatar: now" in out
    assert "8 frames in" in out


def test_the_avatar_loop_runs_against_a_server(server: Server) -> None:
    out = run_example("--server", server.url, "--frames", "8")
    assert "avatar: now" in out
    assert "8 frames in" in out
