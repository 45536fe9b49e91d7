"""The OpenAPI document is valid, matches docs/API.md, and renders safely on /docs."""

from __future__ import annotations

import copy
import itertools
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from wallet_runtime.docs_page import render_docs_html

REPO_ROOT = Path(__file__).resolve().parents[2]
API_MD = REPO_ROOT / "docs" / "API.md"
METHODS = ("get", "put", "post", "delete", "patch")
ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    text = files("wallet_runtime").joinpath("openapi.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    ]


def resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def api_md_error_codes() -> set[str]:
    rows = re.findall(r"^\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|", API_MD.read_text(), re.M)
    return {code for _, code in rows}


def test_spec_validates_as_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "Virtual Wallet API"


def test_operation_ids_are_the_documented_ones(spec: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    wallet_ops = ["deposit", "payout", "transfer", "getBalance", "getHistory", "getAllHistory",
                  "getTransaction", "listCurrencies", "placeHold", "captureHold", "voidHold",
                  "getHold", "listHolds", "verifyJournal"]
    assert sorted(ids) == sorted([*wallet_ops, "health", "metrics", "openapi", "docs",
                                  "websocket"])
    assert all(op.get("summary") and op.get("description") for _, _, op in operations(spec))


def test_error_responses_use_the_error_schema(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        errors = {s: resolve(spec, r) for s, r in op["responses"].items() if s[0] in "45"}
        for status, resp in errors.items():
            schema = resp["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (path, method, status)
        has_4xx = any(status.startswith("4") for status in errors)
        if path.startswith("/wallet/") or path == "/ws":
            assert has_4xx, (path, method)


def test_security_requirements(spec: dict[str, Any]) -> None:
    for path, _, op in operations(spec):
        if path.startswith("/wallet/") or path == "/metrics":  # /metrics: operators only
            assert op["security"] == [{"bearerAuth": []}], path
        else:
            assert op["security"] == [], path
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def test_every_response_carries_x_request_id(spec: dict[str, Any]) -> None:
    header_ref = {"$ref": "#/components/headers/X-Request-Id"}
    for path, _, op in operations(spec):
        for status, raw in op["responses"].items():
            assert resolve(spec, raw)["headers"]["X-Request-Id"] == header_ref, (path, status)


# What each write answers once applied: a void changes a hold, it creates nothing.
WRITES = {"/wallet/deposit": "201", "/wallet/payout": "201", "/wallet/transfer": "201",
          "/wallet/holds": "201", "/wallet/holds/{id}/capture": "201",
          "/wallet/holds/{id}/void": "200"}


def test_writes_take_json_or_form_and_an_idempotency_key(spec: dict[str, Any]) -> None:
    writes = [(path, op) for path, method, op in operations(spec) if method == "post"]
    assert {path for path, _ in writes} == set(WRITES)
    for path, op in writes:
        content = op["requestBody"]["content"]
        assert set(content) == {"application/json", "application/x-www-form-urlencoded"}, path
        schemas = [media["schema"] for media in content.values()]
        assert schemas[0] == schemas[1], path
        params = [resolve(spec, p) for p in op["parameters"]]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)
        assert {WRITES[path], "202", "409", "503"} <= set(op["responses"]), path
        assert "Idempotent-Replayed" in op["responses"][WRITES[path]]["headers"], path


def test_history_query_parameters_match_api_md(spec: dict[str, Any]) -> None:
    params = spec["paths"]["/wallet/history/{userId}"]["get"]["parameters"]
    by_name = {p["name"]: p for p in params if p["in"] == "query"}
    expected = {"limit", "cursor", "type", "currency", "from", "to", "minAmount", "maxAmount",
                "reference"}
    assert set(by_name) == expected | {"order", "sort"}
    assert by_name["sort"]["schema"]["enum"] == ["time", "amount"]
    every_wallet = spec["paths"]["/wallet/history"]["get"]["parameters"]
    assert every_wallet == params, "both history routes take the same query"
    assert by_name["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
        "default": 50,
    }
    assert by_name["order"]["schema"]["default"] == "desc"


def test_the_currency_table_may_be_cached_privately(spec: dict[str, Any]) -> None:
    ok = spec["paths"]["/wallet/currencies"]["get"]["responses"]["200"]
    assert "private" in ok["headers"]["Cache-Control"]["schema"]["examples"][0]
    schema = resolve(spec, ok["content"]["application/json"]["schema"])
    assert set(schema["required"]) == {"default", "currencies"}


def test_error_codes_match_api_md(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["required"]) == {"code", "message"}
    enum = error["properties"]["code"]["enum"]
    documented = api_md_error_codes()
    assert documented, "no error table found in docs/API.md"
    assert set(enum) == documented
    assert len(enum) == len(set(enum))


def test_examples_match_their_schemas(spec: dict[str, Any]) -> None:
    registry = Registry().with_resource(
        "urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    checked = 0
    for name, schema in spec["components"]["schemas"].items():
        validator = Draft202012Validator(
            {"$ref": f"urn:spec#/components/schemas/{name}"}, registry=registry
        )
        for example in schema.get("examples", []):
            assert not list(validator.iter_errors(example)), name
            checked += 1
    assert checked >= 10


def test_docs_page_lists_every_operation(spec: dict[str, Any]) -> None:
    page = render_docs_html(spec)
    assert page.startswith("<!DOCTYPE html>")
    for path, method, op in operations(spec):
        assert f'<code class="path">{path}</code>' in page
        assert f'id="{op["operationId"]}"' in page
        assert f">{method.upper()}<" in page
    assert "Idempotency-Key" in page
    assert "insufficient_funds" in page
    assert "http://" not in page.split("<body>")[0], "head must not load external assets"


def test_docs_page_escapes_spec_text(spec: dict[str, Any]) -> None:
    evil = copy.deepcopy(spec)
    payload = '<script>alert("x")</script>'
    evil["info"]["description"] = payload
    evil["paths"]["/healthz"]["get"]["summary"] = payload
    evil["paths"]["/<img src=x onerror=alert(1)>"] = evil["paths"].pop("/docs")
    page = render_docs_html(evil)
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "/&lt;img src=x onerror=alert(1)&gt;" in page


def test_docs_page_renders_bold_and_code_marks_after_escaping() -> None:
    spec = {"openapi": "3.1.0", "info": {"title": "T", "version": "1",
            "description": "**Auth.** send `Bearer <token>`\n\nsecond **<b>x</b>**"}, "paths": {}}
    page = render_docs_html(spec)
    assert "<strong>Auth.</strong>" in page
    assert "<code>Bearer &lt;token&gt;</code>" in page
    assert "<strong>&lt;b&gt;x&lt;/b&gt;</strong>" in page
    assert page.count('<p class="desc">') >= 2


def links(spec: dict[str, Any]) -> list[tuple[dict[str, Any], str, str, dict[str, Any]]]:
    """(source operation, status, link name, resolved link) for every link the spec declares."""
    return [(op, status, name, resolve(spec, link))
            for _, _, op in operations(spec)
            for status, response in op["responses"].items()
            for name, link in resolve(spec, response).get("links", {}).items()]


def declared_parameters(spec: dict[str, Any], operation_id: str) -> set[tuple[str, str]]:
    """(in, name) of every parameter the operation takes, its path item's included."""
    for item in spec["paths"].values():
        for method in METHODS:
            if item.get(method, {}).get("operationId") == operation_id:
                raw = [*item.get("parameters", []), *item[method].get("parameters", [])]
                return {(p["in"], p["name"]) for p in (resolve(spec, r) for r in raw)}
    raise AssertionError(f"a link names {operation_id!r}, which no operation is")


def required_fields(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """Fields every variant of the schema requires: a link may read only what is always there."""
    schema = resolve(spec, schema)
    if "oneOf" in schema:
        return set.intersection(*(required_fields(spec, s) for s in schema["oneOf"]))
    return set(schema.get("required", []))


def test_every_link_points_at_an_operation_and_its_parameters(spec: dict[str, Any]) -> None:
    found = links(spec)
    assert found, "no links: schemathesis's stateful phase would have nothing to follow"
    for source, status, name, link in found:
        declared = declared_parameters(spec, link["operationId"])
        response = resolve(spec, source["responses"][status])
        sources = {
            "$response.body": response["content"]["application/json"]["schema"],
            "$request.body": source["requestBody"]["content"]["application/json"]["schema"],
        }
        for key, expression in link["parameters"].items():
            location, _, parameter = key.partition(".")
            assert (location, parameter) in declared, (source["operationId"], status, name, key)
            if expression.startswith("$request.path."):  # the id the request itself named
                own = declared_parameters(spec, source["operationId"])
                assert ("path", expression.removeprefix("$request.path.")) in own, name
                continue
            origin, _, pointer = expression.partition("#/")
            assert origin in sources and "/" not in pointer, (name, expression)
            assert pointer in required_fields(spec, sources[origin]), (name, expression)


def test_every_write_links_to_its_transaction_and_each_wallet_it_touched(
        spec: dict[str, Any]) -> None:
    wallets = {"deposit": ["userId"], "payout": ["userId"],
               "transfer": ["fromUserId", "toUserId"]}
    for source, status in itertools.product(wallets, ("201", "202")):
        followed = {(link["operationId"], *link["parameters"].values())
                    for op, code, _, link in links(spec)
                    if op["operationId"] == source and code == status}
        expected = {("getTransaction", "$response.body#/id")} | {
            (read, f"$request.body#/{field}") for field in wallets[source]
            for read in ("getBalance", "getHistory")}
        assert followed == expected, (source, status)


def test_every_hold_write_links_to_the_hold_and_its_command(spec: dict[str, Any]) -> None:
    """The stateful phase goes from a placed hold to its reads, capture and void."""
    def followed(source: str, status: str) -> set[str]:
        return {link["operationId"] for op, code, _, link in links(spec)
                if op["operationId"] == source and code == status}

    assert followed("placeHold", "201") == {"getHold", "captureHold", "voidHold",
                                            "getTransaction", "getBalance", "getHistory",
                                            "listHolds"}
    for source, done in (("captureHold", "201"), ("voidHold", "200")):
        assert followed(source, done) == {"getHold"}
        assert followed(source, "202") == {"getHold", "getTransaction"}


def test_a_lookup_answers_every_shape_a_write_answers(spec: dict[str, Any]) -> None:
    lookup = spec["components"]["schemas"]["TransactionLookup"]["oneOf"]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in lookup} == {
        "Transaction", "RejectedTransaction", "Pending", "Hold", "HoldCapture"}
