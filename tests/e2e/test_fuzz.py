"""Schemathesis throws generated requests at every documented operation.

Whatever it sends, the server must never answer 5xx, and every answer must
match the spec's status codes, content types and schemas. The run is bounded
(examples per operation, fixed seed) so it is repeatable and quick.
"""

import subprocess
import sys
from pathlib import Path

from tests.e2e.server import Server, token

EXAMPLES_PER_OPERATION = 25
SEED = "20261125"
RUN_TIMEOUT_S = 300


def test_generated_requests_never_break_the_contract(server: Server) -> None:
    schemathesis = Path(sys.executable).parent / "st"
    checks = ",".join(["not_a_server_error", "status_code_conformance",
                       "content_type_conformance", "response_schema_conformance"])
    run = subprocess.run(
        [str(schemathesis), "run", f"{server.url}/openapi.json",
         "-H", f"Authorization: Bearer {token('ops', 'operator')}",
         "--checks", checks, "--max-examples", str(EXAMPLES_PER_OPERATION),
         "--seed", SEED, "--exclude-path", "/ws", "--no-color"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, run.stdout[-6000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]
