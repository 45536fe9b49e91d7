"""template.yaml and the local runtime describe the same functions and routes."""

from pathlib import Path
from typing import Any

import yaml
from wallet.entrypoints.local.functions import CONSUMER, HTTP_ROUTES, RELAY

ROOT = Path(__file__).resolve().parents[2]


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads intrinsic tags (!Ref, !Sub, ...) as plain values; only the shape matters here."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def resources() -> dict[str, Any]:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)
    found: dict[str, Any] = template["Resources"]
    return found


def functions() -> dict[str, Any]:
    return {name: body["Properties"] for name, body in resources().items()
            if body["Type"] == "AWS::Serverless::Function"}


def test_every_local_route_is_an_http_api_event_of_its_function() -> None:
    declared = set()
    for properties in functions().values():
        folder = Path(properties["CodeUri"]).name
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                declared.add((event["Properties"]["Method"], event["Properties"]["Path"], folder))
    assert declared == set(HTTP_ROUTES)


def test_every_function_folder_has_a_handler_and_is_deployed() -> None:
    folders = {Path(p["CodeUri"]).name for p in functions().values()}
    assert folders == {name for _, _, name in HTTP_ROUTES} | {CONSUMER, RELAY}
    for folder in folders:
        source = (ROOT / "functions" / folder / "app.py").read_text()
        assert "def handler(event" in source


def test_the_consumer_reads_the_command_topic_from_kafka() -> None:
    consumer = next(p for p in functions().values() if p["CodeUri"].endswith("ledger_consumer/"))
    source = consumer["Events"]["Commands"]
    assert source["Type"] == "SelfManagedKafka"
    assert source["Properties"]["Topics"] == ["wallet.commands"]


def test_the_layer_is_the_shared_package() -> None:
    layer = resources()["WalletLayer"]["Properties"]
    assert (ROOT / layer["ContentUri"] / "wallet" / "__init__.py").is_file()
