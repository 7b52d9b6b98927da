"""Helpers for tests that drive `deskbase` processes and their HTTP servers."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DESKBASE = str(Path(sys.executable).with_name("deskbase"))


@dataclass
class Http:
    status: int
    headers: dict[str, str]
    body: str


def http_get(url: str, opener: urllib.request.OpenerDirector | None = None) -> Http:
    opener = opener or urllib.request.build_opener()
    try:
        with opener.open(url, timeout=10) as response:
            return Http(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Http(error.code, dict(error.headers), error.read().decode())


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 90) -> Http:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"server exited with {process.returncode}:\n{output}")
        try:
            return http_get(url)
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def session_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def deskbase_env(**overrides: str) -> dict[str, str]:
    """The environment of a child `deskbase` process, without the suite's database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DESKBASE_", "DJANGO_"))
    }
    env.update(overrides)
    return env


def stop_process(process: subprocess.Popen, timeout: float = 60) -> str:
    if process.poll() is None:
        process.terminate()
    output, _ = process.communicate(timeout=timeout)
    return output or ""
