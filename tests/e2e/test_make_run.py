"""`make run`, as the README says, serves the dashboard, the API, the websocket and /docs."""

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import websockets

from tests.e2e.server import ROOT, unique

START_TIMEOUT_S = 120  # a first run may still be installing


def test_make_run_serves_api_websocket_and_docs(tmp_path: Path) -> None:
    env = {**os.environ, "WALLET_PORT": "0", "WALLET_DATA_DIR": str(tmp_path)}
    env.pop("WALLET_JWT_SECRET", None)
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                               text=True, stdout=subprocess.PIPE, start_new_session=True)
    try:
        url, operator_token = _banner(process)
        with httpx.Client(base_url=url) as api:
            assert "Idempotency-Key" in api.get("/docs").text
            _serves_the_dashboard(api)
            user = unique()
            deposit = api.post("/wallet/deposit", data={"userId": user, "amount": "1"},
                               headers={"Authorization": f"Bearer {operator_token}"})
            assert deposit.status_code == 201
        asyncio.run(_ping(url.replace("http://", "ws://") + f"/ws?token={operator_token}"))
        assert (tmp_path / "wallet.sqlite3").is_file() and (tmp_path / "jwt-secret").is_file()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _serves_the_dashboard(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script, "index.html loads the built bundle"
    bundle = api.get(script.group(1))
    assert bundle.status_code == 200 and "immutable" in bundle.headers["cache-control"]


def _banner(process: subprocess.Popen[str]) -> tuple[str, str]:
    assert process.stdout is not None
    deadline, url = time.monotonic() + START_TIMEOUT_S, ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line, "make run exited before listening"
        if match := re.search(r"Wallet listening on (\S+)", line):
            url = match.group(1)
        if url and "Operator token:" in line:
            return url, line.split(":", 1)[1].strip()
    raise TimeoutError("make run did not print its banner")


async def _ping(url: str) -> None:
    async with websockets.connect(url) as socket:
        await socket.send('{"action": "ping"}')
        assert await asyncio.wait_for(socket.recv(), 5) == '{"event": "pong"}'
