"""Fixtures: the committed face photos, and the real emotion-server started on a free port."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

REPO = Path(__file__).resolve().parents[3]
FACES = REPO / "tests" / "fixtures" / "faces"


def photos() -> List[Dict[str, Any]]:
    return json.loads((FACES / "faces.json").read_text())["photos"]


def photo(name: str) -> Dict[str, Any]:
    entry = next(p for p in photos() if p["file"] == name)
    return {**entry, "path": FACES / name}


def server_binary() -> Path:
    configured = os.environ.get("EMOTION_SERVER_BIN")
    if configured:
        return Path(configured)
    for profile in ("debug", "release"):
        candidate = REPO / "target" / profile / "emotion-server"
        if candidate.exists():
            return candidate
    pytest.fail("no emotion-server binary: run `cargo build -p emotion-server` or set EMOTION_SERVER_BIN")


class Server:
    """A real emotion-server on 127.0.0.1, port chosen by the OS; stopped with SIGTERM."""

    def __init__(self, **env: str) -> None:
        environment = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": "0",
            "LOG_FORMAT": "json",
            "RUST_LOG": "info",
            "EMOTION_BACKEND": "local",
            **env,
        }
        environment.pop("HF_API_KEY", None)
        self.process = subprocess.Popen(
            [str(server_binary())],
            env=environment,
            cwd=str(REPO / "target"),  # no .env of the checkout is read
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = self._wait_for_address()
        # Keep reading the log so that the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_address(self) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line)
            match = re.search(r"listening on (http://[0-9.:]+)", line)
            if match:
                return match.group(1)
        self.process.kill()
        raise RuntimeError("emotion-server did not start:\n" + "".join(seen))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def health(self) -> Dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/health", timeout=5) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    s = Server(RATE_LIMIT_REQUESTS="1000000")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def astronaut() -> Dict[str, Any]:
    return photo("astronaut.jpg")
