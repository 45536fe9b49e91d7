"""AWS calls against the emulator, made by .venv-emulator's boto3: the project's venv has none,
and ministack's exact botocore pin is what that venv was built around."""

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-emulator" / "bin" / "python"
CALL = """
import json, sys, boto3
request = json.load(sys.stdin)
client = boto3.client(request["service"], endpoint_url=request["endpoint"],
                      region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
answer = getattr(client, request["operation"])(**request["parameters"])
answer.pop("ResponseMetadata", None)
print(json.dumps(answer, default=str))
"""


def call(endpoint: str, service: str, operation: str, **parameters: Any) -> dict[str, Any]:
    """One boto3 call, e.g. call(url, "dynamodb", "get_item", TableName=..., Key=...)."""
    request = {"endpoint": endpoint, "service": service, "operation": operation,
               "parameters": parameters}
    done = subprocess.run([str(PYTHON), "-c", CALL], input=json.dumps(request), check=True,
                          capture_output=True, text=True)
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
