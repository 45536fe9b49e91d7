"""Deploys template.yaml to any LocalStack-compatible endpoint, with boto3 only.

    python localstack/deploy.py --endpoint-url http://127.0.0.1:4566 \
        --parameters infra/parameters.emulator.json --parameter KafkaBootstrap=127.0.0.1:9092 \
        --functions-python /path/to/the/emulator/python

What `sam build` + `sam deploy` would do, minus what an emulator lacks:
- each local CodeUri/ContentUri folder is zipped into an S3 bucket and the template
  rewritten to its s3:// URI (an emulator's CloudFormation accepts nothing else);
- the layer gets its requirements.txt installed for the interpreter that will run the
  functions: ministack runs them on its own Python, whatever `Runtime` says;
- the two secrets are created from WALLET_JWT_SECRET and WALLET_DATABASE_URL in this
  process's environment (never from argv, which `ps` shows);
- the stack is created with the SAM transform, replacing one that exists, and the
  stack's outputs are printed as JSON on stdout.
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "wallet-artifacts"
SECRETS = {"JwtSecretArn": ("wallet/jwt-secret", "WALLET_JWT_SECRET"),
           "DatabaseUrlSecretArn": ("wallet/database-url", "WALLET_DATABASE_URL")}
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
STACK_WAIT_S_MAX = 120.0
POLL_INTERVAL_S = 0.2
LOCAL_URIS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}
SKIPPED = {"__pycache__", "Makefile"}  # build leftovers and sam build's recipe, not code


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads short-form intrinsics in their JSON form, which a JSON template body keeps."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=arguments.region)
    clients = {name: session.client(name, endpoint_url=arguments.endpoint_url)
               for name in ("s3", "secretsmanager", "cloudformation")}
    template = yaml.load(arguments.template.read_text(), Loader=_CloudFormationLoader)
    _package(template, clients["s3"], arguments.functions_python, arguments.cache_dir)
    parameters = _parameters(arguments) | _secrets(clients["secretsmanager"])
    outputs = _replace_stack(clients["cloudformation"], arguments.stack_name, template, parameters)
    print(json.dumps(outputs, indent=2, sort_keys=True))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--stack-name", default="wallet")
    parser.add_argument("--endpoint-url", default="http://localhost:4566")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--parameters", type=Path, action="append", default=[],
                        help="a JSON file of {ParameterKey: value}; later files win")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--functions-python", default=sys.executable,
                        help="the interpreter the emulator runs functions on")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "emulator-cache")
    return parser


def _package(template: dict[str, Any], s3: Any, python: str, cache_dir: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    for name, resource in template["Resources"].items():
        key = LOCAL_URIS.get(resource["Type"])
        properties = resource.get("Properties", {})
        if key is None or str(properties.get(key, "s3://")).startswith("s3://"):
            continue
        folder = ROOT / properties[key]
        archive = _layer_zip(folder, python, cache_dir) if key == "ContentUri" else _zip(folder)
        object_key = f"{name}-{hashlib.sha256(archive).hexdigest()[:16]}.zip"
        s3.put_object(Bucket=BUCKET, Key=object_key, Body=archive)
        properties[key] = f"s3://{BUCKET}/{object_key}"


def _zip(folder: Path, prefix: str = "", extra: Path | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root in [folder] + ([extra] if extra else []):
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not SKIPPED & set(relative.parts):
                    archive.write(path, f"{prefix}{relative}")
    return buffer.getvalue()


def _layer_zip(folder: Path, python: str, cache_dir: Path) -> bytes:
    """The layer's code plus its requirements, installed once per requirements and Python."""
    requirements = folder / "requirements.txt"
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], check=True,
                             capture_output=True, text=True).stdout
    digest = hashlib.sha256(requirements.read_bytes() + version.encode()).hexdigest()[:16]
    dependencies = cache_dir / f"layer-dependencies-{digest}"
    if not dependencies.is_dir():
        staging = dependencies.with_suffix(".partial")
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--target", str(staging), "-r", str(requirements)], check=True,
                       stdout=sys.stderr)
        staging.rename(dependencies)  # only a complete install is ever reused
    return _zip(folder, "python/", dependencies)


def _parameters(arguments: argparse.Namespace) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in arguments.parameters:
        found |= {key: str(value) for key, value in json.loads(path.read_text()).items()}
    for pair in arguments.parameter:
        key, _, value = pair.partition("=")
        found[key] = value
    return found


def _secrets(secretsmanager: Any) -> dict[str, str]:
    """Each secret created or given its new value; the parameters name them by ARN."""
    arns = {}
    for parameter, (name, variable) in SECRETS.items():
        value = os.environ[variable]
        try:
            arns[parameter] = secretsmanager.create_secret(Name=name, SecretString=value)["ARN"]
        except secretsmanager.exceptions.ResourceExistsException:
            arns[parameter] = secretsmanager.put_secret_value(
                SecretId=name, SecretString=value)["ARN"]
    return arns


def _replace_stack(cloudformation: Any, name: str, template: dict[str, Any],
                   parameters: dict[str, str]) -> dict[str, str]:
    """Replaced rather than updated: an emulator's update is the least trodden path."""
    if _status(cloudformation, name) is not None:
        cloudformation.delete_stack(StackName=name)
        _wait(cloudformation, name)
    cloudformation.create_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=CAPABILITIES,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    status = _wait(cloudformation, name)
    if status != "CREATE_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events
                   if "FAILED" in e["ResourceStatus"]]
        raise SystemExit(f"stack {name} ended {status}: {reasons}")
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _status(cloudformation: Any, name: str) -> str | None:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        return None  # no such stack
    status = stacks[0]["StackStatus"] if stacks else None
    return None if status == "DELETE_COMPLETE" else status


def _wait(cloudformation: Any, name: str) -> str | None:
    deadline = time.monotonic() + STACK_WAIT_S_MAX
    while (status := _status(cloudformation, name)) and status.endswith("IN_PROGRESS"):
        if time.monotonic() > deadline:
            raise SystemExit(f"stack {name} still {status} after {STACK_WAIT_S_MAX} s")
        time.sleep(POLL_INTERVAL_S)
    return status


if __name__ == "__main__":
    sys.exit(main())
