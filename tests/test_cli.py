"""`deskbase up` and friends as an operator runs them: real processes, real servers."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest

from deskbase import cli
from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE
from deskbase.testing.plugin import free_port
from tests.fault import processes
from tests.helpers import (
    deskbase_env,
    http_get,
    session_opener,
    stop_process,
    wait_for_http,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def start_up(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str]:
    process, port = processes.start_up(env, *args)
    return process, f"http://127.0.0.1:{port}/"


run = processes.run


def sign_in(base: str, organization: str, email: str, password: str) -> str:
    """Sign in through the login form; return the home page's HTML."""
    opener = session_opener()
    page = opener.open(base + "login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = urllib.parse.urlencode(
        {
            "organization": organization,
            "username": email,
            "password": password,
            "csrfmiddlewaretoken": token,
            "next": "/",
        }
    ).encode()
    request = urllib.request.Request(base + "login/", data=form, headers={"Referer": base})
    with opener.open(request, timeout=10) as response:
        return response.read().decode()


def test_up_serves_the_demo_and_stops_what_it_started(workdir):
    # Given a fresh checkout's var directory
    env = deskbase_env(DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_PG_PORT=str(free_port()))
    # When the operator runs `deskbase up`
    process, base = start_up(env)
    try:
        health = wait_for_http(base + "health", process)
        # Then the server answers as the application role, fully migrated
        assert health.status == 200
        body = json.loads(health.body)
        assert body["database"]["role"] == APP_ROLE
        assert body["database"]["unapplied_migrations"] == []
        assert "Server-Timing" in health.headers
        # And the demo agent can sign in with the printed login
        home = sign_in(base, "demo", "agent@demo.deskbase.test", "demo-agent-pass")
        # (the start page is the agent's own queue, docs/web.md)
        assert "<h1>My open tickets</h1>" in home
        assert '<span class="who">Alex Agent</span>' in home
        # And static files are served with DEBUG off
        assert http_get(base + "static/deskbase/base.css").status == 200
        # (the worker starts once `up` saw the server answer: wait for its log to be
        # opened, or the stop below may come first and it is never started)
        worker_log = workdir / "var" / "log" / "worker.log"
        deadline = time.monotonic() + 60
        while not worker_log.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        output = stop_process(process)
    # Then SIGTERM stopped the web server and the PostgreSQL this run started
    assert process.returncode == 0, output
    assert f"deskbase is running at {base}" in output
    assert "agent@demo.deskbase.test / demo-agent-pass" in output
    assert "stopping the embedded PostgreSQL" in output
    assert run(env, "pg", "status").returncode == 3
    # And the job worker ran beside the server, and was stopped with it
    assert "job worker started (pid " in output
    # (its log where DESKBASE_VAR_DIR says, not in the checkout's var/)
    assert f"; log {workdir / 'var' / 'log' / 'worker.log'})" in output
    assert "job worker stopped (exit code 0)" in output

    # When it runs a second time
    process, base = start_up(env)
    try:
        assert wait_for_http(base + "health", process).status == 200
    finally:
        output = stop_process(process)
    # Then the data was reused: the demo was not loaded again
    assert "loaded the demo organization" not in output
    assert process.returncode == 0, output


def test_up_leaves_a_postgresql_it_did_not_start_running(workdir):
    env = deskbase_env(DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_PG_PORT=str(free_port()))
    assert run(env, "pg", "start").returncode == 0
    try:
        psql = run(env, "pg", "psql", "-tAc", "SELECT current_user")
        assert psql.stdout.strip() == OWNER_ROLE, psql.stderr
        process, base = start_up(env, "--no-demo")
        try:
            assert wait_for_http(base + "health", process).status == 200
        finally:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            output = stop_process(process)
        assert process.returncode == 0, output
        assert "PostgreSQL keeps running" in output
        assert run(env, "pg", "status").returncode == 0
    finally:
        run(env, "pg", "stop")


def test_sigterm_before_the_web_server_starts_stops_the_postgresql_up_started(workdir):
    # Given `deskbase up` on a fresh var directory, past starting PostgreSQL and busy
    # migrating (the web server is not started yet)
    env = deskbase_env(DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_PG_PORT=str(free_port()))
    process, _ = start_up(env)
    seen = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if "applying migrations" in line:
                break
        assert run(env, "pg", "status").returncode == 0, "".join(seen)
        # When SIGTERM arrives (a service manager stopping it)
        process.send_signal(signal.SIGTERM)
    finally:
        output = "".join(seen) + stop_process(process)
    # Then it exits cleanly and stops the PostgreSQL it started
    assert process.returncode == 0, output
    assert "stopping the embedded PostgreSQL" in output
    assert "deskbase is running" not in output
    assert run(env, "pg", "status").returncode == 3, output


def test_up_with_the_pooler_serves_through_pgbouncer_and_stops_it(workdir):
    # Given a fresh var directory and a free port for pgbouncer
    pooler_port = free_port()
    env = deskbase_env(
        DESKBASE_VAR_DIR=str(workdir / "var"),
        DESKBASE_PG_PORT=str(free_port()),
        DESKBASE_POOLER_PORT=str(pooler_port),
    )
    # When the operator runs `deskbase up --pooler`
    process, base = start_up(env, "--pooler")
    try:
        health = wait_for_http(base + "health", process)
        assert health.status == 200
        assert json.loads(health.body)["database"]["role"] == APP_ROLE
        # Then pages work (tenant SET LOCALs in each transaction through the pool)
        home = sign_in(base, "demo", "agent@demo.deskbase.test", "demo-agent-pass")
        assert "<h1>My open tickets</h1>" in home
        # And the web server's connections are pgbouncer's clients
        credentials = json.loads((workdir / "var" / "pg-credentials.json").read_text())
        console = (
            f"postgresql://{OWNER_ROLE}:{credentials[OWNER_ROLE]}@127.0.0.1:{pooler_port}/pgbouncer"
        )
        with psycopg.connect(console, autocommit=True, prepare_threshold=None) as conn:
            clients = conn.execute("SHOW CLIENTS").fetchall()
        assert any(APP_ROLE in row for row in clients), clients
    finally:
        output = stop_process(process)
    assert process.returncode == 0, output
    assert f"pgbouncer started on 127.0.0.1:{pooler_port} (transaction mode" in output
    assert "stopping pgbouncer" in output
    # And its port is free again (no one listens; connections may linger in TIME_WAIT)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", pooler_port))


def test_external_database_migrations_and_health_up_and_down(make_cluster, workdir):
    # Given a PostgreSQL started separately, with an owner and an application role
    server = make_cluster(workdir / "server")
    server.start()
    server.ensure_database()
    env = deskbase_env(
        DATABASE_URL=server.url(OWNER_ROLE, tcp=True),
        DATABASE_APP_URL=server.url(APP_ROLE, tcp=True),
        DESKBASE_VAR_DIR=str(workdir / "var"),
    )
    # When the operator migrates and serves against it
    migrated = run(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    process, base = start_up(env, "--no-demo")
    try:
        health = wait_for_http(base + "health", process)
        # Then the health check is green, and no embedded cluster was created
        assert health.status == 200, health.body
        assert json.loads(health.body)["database"]["role"] == APP_ROLE
        assert not (workdir / "var" / "pg").exists()

        # When the database goes down
        server.stop()
        down = http_get(base + "health")
        # Then the check answers 503 with the reason
        assert down.status == 503
        body = json.loads(down.body)
        assert body["status"] == "unavailable"
        assert body["database"]["reachable"] is False
        assert body["reason"].startswith("database unreachable:")

        # When it comes back, the same server recovers without a restart
        server.start()
        assert http_get(base + "health").status == 200
    finally:
        output = stop_process(process)
    assert process.returncode == 0, output
    assert server.status().running, "up must not stop a server it did not start"


@pytest.mark.parametrize(
    "args",
    [["migrate"], ["up", "--no-demo"], ["pg", "status"]],
    ids=["migrate", "up", "pg-status"],
)
def test_an_unreachable_database_url_is_one_clear_line(workdir, args):
    env = deskbase_env(
        DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/nothing",
        DESKBASE_VAR_DIR=str(workdir / "var"),
        DESKBASE_DB_CONNECT_TIMEOUT="2",
    )
    result = run(env, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("deskbase: cannot reach the database named by DATABASE_URL")


def test_pg_start_with_an_external_database_is_refused(workdir):
    env = deskbase_env(DATABASE_URL="postgresql://x@127.0.0.1/x", DESKBASE_VAR_DIR=str(workdir))
    result = run(env, "pg", "start")
    assert result.returncode == 2
    assert "DATABASE_URL is set: deskbase does not start that server" in result.stderr


def test_a_web_port_in_use_is_refused_before_anything_starts(workdir):
    env = deskbase_env(DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_PG_PORT=str(free_port()))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run(env, "up", "--port", str(port))
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert not (workdir / "var" / "pg").exists()


def test_management_commands_without_a_running_database_say_how_to_start_it(workdir):
    env = deskbase_env(DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_PG_PORT=str(free_port()))
    result = run(env, "migrate")
    assert result.returncode == 2
    assert "start it with `deskbase pg start`" in result.stderr


def test_pg_url_prints_socket_and_tcp_urls(workdir):
    port = free_port()
    env = deskbase_env(DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_PG_PORT=str(port))
    socket_url = run(env, "pg", "url").stdout.strip()
    assert socket_url == f"postgresql://{APP_ROLE}@/deskbase?host={workdir}/var/run&port={port}"
    owner = run(env, "pg", "url", "--role", "owner").stdout.strip()
    assert owner.startswith(f"postgresql://{OWNER_ROLE}@/deskbase")


def find_python(env: dict[str, str]) -> subprocess.CompletedProcess:
    """scripts/find-python (what `make` runs to pick the interpreter) with `env`."""
    return subprocess.run(
        ["/bin/sh", str(ROOT / "scripts" / "find-python")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_make_names_the_missing_python(tmp_path):
    # Given a machine whose only python3 is too old
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\nexit 1\n")
    (fake / "python3").chmod(0o755)
    if list(Path("/usr/local/bin").glob("python3.1[2-9]")):
        pytest.skip("this machine has a Python >= 3.12 at a fixed path")
    env = {"PATH": f"{fake}:/bin:/usr/bin", "HOME": str(tmp_path)}
    env["PATH"] = ":".join(
        p for p in env["PATH"].split(":") if not any(Path(p).glob("python3.1[2-9]"))
    )
    result = find_python(env)
    assert result.returncode == 1
    assert "deskbase needs Python >= 3.12" in result.stderr
    assert "PYTHON=" in result.stderr


def test_make_finds_the_suite_python():
    env = dict(os.environ, PYTHON=str(Path(os.sys.executable)))
    result = find_python(env)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).exists()


def test_help_names_the_var_directory_in_use(monkeypatch, capsys, workdir):
    monkeypatch.setenv("DESKBASE_VAR_DIR", str(workdir / "elsewhere"))
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert f"manage the embedded PostgreSQL in {workdir / 'elsewhere' / 'pg'}" in out
    assert " var/pg" not in out


def test_make_reset_deletes_the_var_directory_in_use_and_nothing_else(workdir):
    # Given a checkout with a var/ of its own, and DESKBASE_VAR_DIR pointing elsewhere
    checkout = workdir / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, checkout / name)
    (checkout / ".venv").symlink_to(ROOT / ".venv")
    (checkout / "var").mkdir()
    (checkout / "var" / "keep").write_text("not the configured var directory")
    elsewhere = workdir / "elsewhere"
    (elsewhere / "log").mkdir(parents=True)
    env = deskbase_env(DESKBASE_VAR_DIR=str(elsewhere), DESKBASE_PG_PORT=str(free_port()))
    # When the operator runs `make reset`
    result = subprocess.run(["make", "reset"], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=180, check=False)  # fmt: skip
    # Then the configured directory is gone, says so, and the checkout's var/ is untouched
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"deleting {elsewhere}" in result.stdout
    assert not elsewhere.exists()
    assert (checkout / "var" / "keep").exists()


def test_a_database_error_raised_while_the_stop_signal_unwinds_still_counts_as_the_stop():
    # Given SIGTERM's exception landing inside a COMMIT, whose clean-up then fails
    from deskbase.cli import StartupStopped, _stopped_by_signal

    def commit_interrupted() -> None:
        try:
            raise StartupStopped
        except StartupStopped as stop:
            raise RuntimeError("can't change 'autocommit' now") from stop

    try:
        commit_interrupted()
    except RuntimeError as error:
        chained = error
    # Then `up` recognizes the stop behind it, and only that
    assert _stopped_by_signal(chained)
    assert not _stopped_by_signal(RuntimeError("a real failure"))
