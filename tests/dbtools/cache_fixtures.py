"""A real redis-server for the cache tests, started on a free port and stopped after.

Without the binary the Redis tests are skipped on a developer's machine and fail
loudly in CI (CI=true), where .ci/run installs Debian's redis-server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import override_settings

from deskbase.core import cache as cachelayer
from deskbase.testing.plugin import free_port


class RedisServer:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="deskbase-redis-", dir="/tmp"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(200):  # up to ~10 s for the server to accept connections
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI: .ci/run must install it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return binary


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(redis_binary())
    server.start()
    yield server
    server.cleanup()


@contextlib.contextmanager
def use_redis(url: str, prefix: str = "t") -> Iterator[None]:
    """Django's cache is Redis at `url` inside the block (Django's own RedisCache)."""
    caches_setting = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=caches_setting, REDIS_URL=url, CACHE_RETRY_SECONDS=0):
        cachelayer.reset_health()
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                caches["default"].close()
    cachelayer.reset_health()


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """A local-memory cache of this test only, and the counters zeroed."""
    setting = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{time.monotonic_ns()}",
            "TIMEOUT": 300,
        }
    }
    with override_settings(CACHES=setting, REDIS_URL=""):
        cachelayer.reset_health()
        cachelayer.reset_stats()
        yield
    cachelayer.reset_health()
