"""`make bench`: start a fresh embedded wallet, drive it with k6, print the figures.

Nothing here asserts on time: the numbers are for people to read and compare.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parents[1]
WALLETS = int(os.environ.get("WALLETS", "50"))
START_TIMEOUT_S = 30


def main() -> int:
    k6 = shutil.which("k6", path=str(Path(sys.executable).parent)) or shutil.which("k6")
    if k6 is None:
        print("k6 is not installed; run `make bench`, which installs it", file=sys.stderr)
        return 2
    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory(prefix="wallet-bench-") as data_dir:
        server, url = start(secret, data_dir)
        try:
            tokens = {f"bench-{n}": mint(secret, f"bench-{n}", "user") for n in range(WALLETS)}
            tokens["operator"] = mint(secret, "operator", "operator")
            env = {**os.environ, "BASE_URL": url, "TOKENS": json.dumps(tokens),
                   "WALLETS": str(WALLETS)}
            return subprocess.run([k6, "run", "--quiet", str(ROOT / "bench" / "wallet.js")],
                                  env=env).returncode
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def start(secret: str, data_dir: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "WALLET_DATA_DIR": data_dir, "WALLET_PORT": "0",
           "WALLET_JWT_SECRET": secret, "WALLET_LOG_LEVEL": "WARNING"}
    wallet = Path(sys.executable).parent / "wallet"
    server = subprocess.Popen([str(wallet), "serve"], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE)
    assert server.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if line.startswith("Wallet listening on "):
            return server, line.split()[-1]
    server.kill()
    raise RuntimeError("the wallet did not start")


def mint(secret: str, user: str, role: str) -> str:
    claims = {"sub": user, "role": role, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


if __name__ == "__main__":
    sys.exit(main())
