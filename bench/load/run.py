"""Step a running deskbase through growing concurrency with locust until it saturates.

    .venv/bin/python bench/load/run.py --url http://127.0.0.1:8000 --label with-limiter \\
        --steps 8,16,32,64,128,256 --step-seconds 30 --output bench/results/load-with.json

Signs in as the demo agent to create LOAD_TOKEN_COUNT API tokens for the API clients,
runs bench/load/locustfile.py headless with its step shape, and writes the steps
(users, throughput, p50/p99, errors by status) as JSON. `plot.py` draws the results.
Needs the optional dependency group `load` (pip install -e '.[load]').
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import platform
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOKEN_COUNT = 4


def make_tokens(url: str, org: str, login: str, count: int) -> list[str]:
    """Sign in through the API and create `count` personal tokens (shown once)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    email, password = login.split(":", 1)

    def post(path: str, body: dict) -> dict:
        csrf = next((c.value for c in jar if c.name == "csrftoken"), "")
        request = urllib.request.Request(
            url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        )  # fmt: skip
        with opener.open(request, timeout=30) as answer:
            return json.loads(answer.read())

    post("/api/v1/auth/login", {"organization": org, "email": email, "password": password})
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")
    return [post("/api/v1/tokens", {"name": f"load {stamp} {i}"})["token"] for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--label", default="run")
    parser.add_argument("--steps", default="8,16,32,64,128,256")
    parser.add_argument("--step-seconds", type=float, default=30)
    parser.add_argument("--settle-seconds", type=float, default=5)
    parser.add_argument("--think", default="0.5,1.5", help="seconds between a user's requests")
    parser.add_argument("--org", default="demo")
    parser.add_argument("--agent", default="agent@demo.deskbase.test:demo-agent-pass")
    parser.add_argument("--customer", default="customer@demo.deskbase.test:demo-customer-pass")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    tokens = make_tokens(args.url, args.org, args.agent, TOKEN_COUNT)
    steps = [int(x) for x in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "steps.jsonl"
        env = dict(os.environ, LOAD_ORG=args.org, LOAD_AGENT=args.agent,
                   LOAD_CUSTOMER=args.customer, LOAD_TOKENS=",".join(tokens),
                   LOAD_THINK=args.think, LOAD_STEPS=args.steps,
                   LOAD_STEP_SECONDS=str(args.step_seconds),
                   LOAD_SETTLE_SECONDS=str(args.settle_seconds), LOAD_OUTPUT=str(lines))  # fmt: skip
        locust = Path(sys.executable).with_name("locust")
        command = [str(locust), "-f", str(HERE / "locustfile.py"), "--headless",
                   "--host", args.url, "--only-summary", "--exit-code-on-error", "0",
                   "--stop-timeout", "5", "--loglevel", "WARNING"]  # fmt: skip
        subprocess.run(command, env=env, check=True, stdout=sys.stderr)
        results = [json.loads(line) for line in lines.read_text().splitlines()]
    report = {
        "label": args.label,
        "url": args.url,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()},  # fmt: skip
        "step_seconds": args.step_seconds,
        "settle_seconds": args.settle_seconds,
        "think_seconds": args.think,
        "steps": results,
        "expected_steps": steps,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
