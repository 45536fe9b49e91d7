"""What an operator sees: the banner, the CLI token, and logs without secrets."""

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.server import ROOT, SECRET, Server, auth, unique


def test_banner_prints_the_url_and_a_working_operator_token(server: Server) -> None:
    banner = "".join(server.banner)
    token_line = next(line for line in server.banner if "Operator token:" in line)
    operator_token = token_line.split(":", 1)[1].strip()
    assert f"{server.url}/#token={operator_token}" in banner
    with httpx.Client(base_url=server.url) as api:
        response = api.get(f"/wallet/balance/{unique()}",
                           headers={"Authorization": f"Bearer {operator_token}"})
    assert response.status_code == 200


def test_wallet_token_command_mints_a_token_the_server_accepts(server: Server) -> None:
    user = unique()
    wallet = Path(sys.executable).parent / "wallet"
    minted = subprocess.run(
        [str(wallet), "token", user, "--ttl", "60"], cwd=ROOT, capture_output=True, text=True,
        env={"WALLET_JWT_SECRET": SECRET, "WALLET_DATA_DIR": str(server.data_dir)}, check=True)
    with httpx.Client(base_url=server.url) as api:
        own = api.get(f"/wallet/balance/{user}",
                      headers={"Authorization": f"Bearer {minted.stdout.strip()}"})
        other = api.get("/wallet/balance/someone-else",
                        headers={"Authorization": f"Bearer {minted.stdout.strip()}"})
    assert (own.status_code, other.status_code) == (200, 403)


def test_embedded_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    wallet = Path(sys.executable).parent / "wallet"
    env = {"WALLET_DATA_DIR": str(tmp_path)}
    first = subprocess.run([str(wallet), "token", "u"], env=env, capture_output=True, text=True)
    assert first.returncode == 0
    secret_file = tmp_path / "jwt-secret"
    assert secret_file.stat().st_mode & 0o077 == 0, "the secret must be private to its owner"
    kept = secret_file.read_text()
    subprocess.run([str(wallet), "token", "u"], env=env, capture_output=True, check=True)
    assert secret_file.read_text() == kept


def test_logs_are_json_lines_with_latency_and_no_secrets(server: Server) -> None:
    user = unique()
    headers = auth(user)
    with httpx.Client(base_url=server.url) as api:
        api.post("/wallet/deposit", json={"userId": user, "amount": "1"}, headers=headers)
        api.get(f"/wallet/balance/{user}?token={headers['Authorization'][7:]}", headers=headers)
    text = server.logs()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    requests = [line for line in lines if line["msg"] == "request"]
    assert requests and all({"request_id", "route", "status", "latency_ms"} <= set(r)
                            for r in requests)
    batches = [line for line in lines if line["msg"] == "batch applied"]
    assert batches and all({"size", "duration_ms"} <= set(b) for b in batches)
    assert headers["Authorization"][7:] not in text
    assert SECRET not in text
    banner_token = next(line for line in server.banner if "Operator token:" in line)
    assert banner_token.split(":", 1)[1].strip() not in text
