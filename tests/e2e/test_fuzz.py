"""Schemathesis throws generated requests at every documented operation, alone and in sequences.

Whatever it sends, the server must never answer 5xx, and every answer must
match the spec's status codes, content types and schemas. The first run tries
each operation on its own; the second is the stateful phase, which follows the
spec's links from each write to the reads of its transaction and wallets, so
an answer that only breaks after a write (a committed transaction that cannot
be read back, a history that does not render it) is caught too. Both runs are
bounded (examples per operation or scenarios, fixed seed) so they are
repeatable and quick.
"""

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.server import Server, token

EXAMPLES_PER_OPERATION = 25
STATEFUL_SCENARIOS = 80  # twice what reached every read in trials here, on both engines
SEED = "20261125"
RUN_TIMEOUT_S = 300
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")
READS = ("GET /wallet/transactions/{id}", "GET /wallet/balance/{userId}",
         "GET /wallet/history/{userId}")
# Schemathesis starts a scenario only at the operations it deems sure to succeed, when it
# deems any so: POST /wallet/holds is one (its userId is the Hold's own field), a deposit is not
# (its userId names a User nothing produces). Every scenario would then open with a hold on a
# random, empty wallet, a 422 with no link to follow. So the stateful run leaves the hold
# routes out, and follows the spec's links only: links it infers (a history item's holdId, a
# list's ids) make a list read the one entry point in the same way. tests/e2e/test_holds.py
# reads back after every hold write instead.
STATEFUL_CONFIG = Path(__file__).with_name("schemathesis-stateful.toml")
STATEFUL_EXCLUDED = "^/wallet/holds"


def schemathesis(server: Server, *options: str, config: Path | None = None
                 ) -> subprocess.CompletedProcess[str]:
    configured = [] if config is None else ["--config-file", str(config)]
    command = [str(Path(sys.executable).parent / "st"), *configured, "run",
               f"{server.url}/openapi.json",
               "-H", f"Authorization: Bearer {token('ops', 'operator')}",
               "--checks", ",".join(CHECKS), "--seed", SEED, "--exclude-path", "/ws",
               "--no-color", *options]
    run = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, run.stdout[-6000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]
    return run


def test_generated_requests_never_break_the_contract(server: Server) -> None:
    schemathesis(server, "--phases", "examples,coverage,fuzzing",
                 "--max-examples", str(EXAMPLES_PER_OPERATION))


def test_sequences_along_the_links_never_break_the_contract(
        server: Server, tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    schemathesis(server, "--phases", "stateful", "--max-examples", str(STATEFUL_SCENARIOS),
                 "--exclude-path-regex", STATEFUL_EXCLUDED,
                 "--report", "ndjson", "--report-ndjson-path", str(events),
                 config=STATEFUL_CONFIG)
    followed = followed_links(events)
    # Which writes commit depends on what ran before on this server (a payout needs funds), so
    # the run must reach every read along some write's link, not along a chosen one.
    assert {link.rpartition(" -> ")[2] for link in followed} >= set(READS), sorted(followed)
    # A generated `request` fingerprint may draw 400 or 409; a committed write's own id never
    # draws 404 (5xx is the checks' business).
    read_back = [status for link, statuses in followed.items() if link.endswith(READS[0])
                 for status in statuses]
    assert 200 in read_back and 404 not in read_back, read_back


def followed_links(events: Path) -> dict[str, list[int]]:
    """Each link the stateful phase followed, with the statuses its target answered."""
    followed: dict[str, list[int]] = {}
    for line in events.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if scenario is None:
            continue
        recorder = scenario["recorder"]
        for case_id, case in recorder.get("cases", {}).items():
            response = (recorder["interactions"].get(case_id) or {}).get("response")
            if case.get("transition") and response:
                followed.setdefault(case["transition"]["id"], []).append(
                    response["status_code"])
    return followed
