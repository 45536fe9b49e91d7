"""Render the OpenAPI document as a self-contained HTML reference page for ``GET /docs``.

Why: the docs page must work offline and under a strict CSP, so rather than loading a
JavaScript viewer from a CDN we turn the same spec served at ``/openapi.json`` into plain
HTML with inline CSS. The spec is treated as untrusted data: every string is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_REF_DEPTH = 32
_CSS = """
body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;
color:#1f2328;line-height:1.45}
.desc{white-space:pre-line}
section.op{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.badge{display:inline-block;min-width:3.5rem;text-align:center;border-radius:4px;
color:#fff;font-weight:700;padding:.1rem .4rem;margin-right:.5rem;background:#6e7781}
.get{background:#0969da}.post{background:#1a7f37}.delete{background:#cf222e}
.put,.patch{background:#9a6700}
code.path{font-size:1.1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
"""


_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def render_docs_html(spec: Mapping[str, Any]) -> str:
    """Return a complete HTML page documenting every operation of ``spec``."""
    info = _mapping(spec.get("info"))
    title = _text(info.get("title", "API reference"))
    body = [
        f"<h1>{title} <small>{_text(info.get('version', ''))}</small></h1>",
        _para(info.get("description")),
        _auth_section(spec),
    ]
    for path, raw_item in _mapping(spec.get("paths")).items():
        item = _mapping(_resolve(spec, raw_item))
        for method in _METHODS:
            if isinstance(item.get(method), Mapping):
                body.append(_operation(spec, str(path), method, item))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _text(value: object) -> str:
    """Escapes first, then renders the two marks the spec uses: **bold** and `code`."""
    escaped = escape(str(value), quote=True)
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<strong>\1</strong>", escaped))


def _para(value: object) -> str:
    paragraphs = [part for part in str(value or "").split("\n\n") if part.strip()]
    return "".join(f'<p class="desc">{_text(part)}</p>' for part in paragraphs)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _resolve(spec: Mapping[str, Any], node: object) -> object:
    """Follow local ``$ref`` pointers; sibling keys (e.g. ``description``) win."""
    for _ in range(_MAX_REF_DEPTH):
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping) or not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        target: object = spec
        for part in ref[2:].split("/"):
            target = _mapping(target).get(part.replace("~1", "/").replace("~0", "~"))
        node = {**_mapping(target), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type_label(schema: object) -> str:
    """Describe a schema in a few words, naming ``$ref`` targets instead of expanding them."""
    node = _mapping(schema)
    if isinstance(node.get("$ref"), str):
        return str(node["$ref"]).rsplit("/", 1)[-1]
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(node.get(key), list):
            return " | ".join(_type_label(sub) for sub in node[key])
    label = node.get("type", "any")
    label = " | ".join(map(str, label)) if isinstance(label, list) else str(label)
    if label == "array":
        label = f"array of {_type_label(node.get('items'))}"
    if "enum" in node:
        label += " (" + ", ".join(map(str, node["enum"])) + ")"
    return label + (f" /{node['pattern']}/" if "pattern" in node else "")


def _table(headers: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>" if body else ""


def _auth_section(spec: Mapping[str, Any]) -> str:
    schemes = _mapping(_mapping(spec.get("components")).get("securitySchemes"))
    keys = ("type", "scheme", "in", "bearerFormat", "description")
    rows = [
        (name, *(_mapping(_resolve(spec, raw)).get(key, "") for key in keys))
        for name, raw in schemes.items()
    ]
    table = _table(("name", *keys), rows)
    return f"<h2>Authentication</h2>{table or '<p>None.</p>'}"


def _operation(spec: Mapping[str, Any], path: str, method: str, item: Mapping[str, Any]) -> str:
    op = _mapping(item[method])
    security = op.get("security", spec.get("security", []))
    auth = "requires " + ", ".join(k for s in security for k in s) if security else "no auth"
    return (
        f'<section class="op" id="{_text(op.get("operationId", method + path))}">'
        f'<h3><span class="badge {method}">{method.upper()}</span>'
        f'<code class="path">{_text(path)}</code> — {_text(op.get("summary", ""))}</h3>'
        f"<p><em>{_text(auth)}</em></p>{_para(op.get('description'))}"
        f"{_parameters(spec, [*item.get('parameters', []), *op.get('parameters', [])])}"
        f"{_request_body(spec, op.get('requestBody'))}{_responses(spec, op)}</section>"
    )


def _parameters(spec: Mapping[str, Any], params: list[object]) -> str:
    rows = [_param_row(_mapping(_resolve(spec, raw))) for raw in params]
    table = _table(("name", "in", "required", "type", "description"), rows)
    return f"<h4>Parameters</h4>{table}" if table else ""


def _param_row(p: Mapping[str, Any]) -> tuple[object, ...]:
    required = "yes" if p.get("required") else "no"
    return (
        p.get("name", ""),
        p.get("in", ""),
        required,
        _type_label(p.get("schema")),
        p.get("description", ""),
    )


def _request_body(spec: Mapping[str, Any], raw: object) -> str:
    body = _mapping(_resolve(spec, raw))
    content = _mapping(body.get("content"))
    if not content:
        return ""
    media = _mapping(next(iter(content.values())))
    schema = _mapping(_resolve(spec, media.get("schema")))
    required = set(schema.get("required", []))
    rows = [
        (
            name,
            _type_label(sub),
            "yes" if name in required else "no",
            _mapping(_resolve(spec, sub)).get("description", ""),
        )
        for name, sub in _mapping(schema.get("properties")).items()
    ]
    kinds = _text(", ".join(map(str, content)))
    fields = _table(("field", "type", "required", "description"), rows)
    intro = _para(body.get("description"))
    return f"<h4>Request body <small>({kinds})</small></h4>{intro}{fields}"


def _responses(spec: Mapping[str, Any], op: Mapping[str, Any]) -> str:
    rows = []
    for status, raw in _mapping(op.get("responses")).items():
        resp = _mapping(_resolve(spec, raw))
        schemas = [
            _type_label(_mapping(m).get("schema")) for m in _mapping(resp.get("content")).values()
        ]
        rows.append((status, resp.get("description", ""), ", ".join(dict.fromkeys(schemas))))
    return "<h4>Responses</h4>" + _table(("status", "description", "body"), rows)
