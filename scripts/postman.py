"""Derives docs/postman_collection.json (the seed's flows) from the OpenAPI spec.

    .venv/bin/python scripts/postman.py            # rewrite the collection
    .venv/bin/python scripts/postman.py --check    # exit 1 if it no longer matches the spec

Each step names an operation of the spec by method and path; its summary, auth
and example body come from the spec (the `examples` of each body property), so
a renamed path or a changed body shows up here as a stale collection.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from api_rest.openapi import build as build_spec

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs/postman_collection.json"

# (method, path, what the step saves for later ones). Ids learnt at run time replace the spec's examples.
FLOW = [
    ("GET", "/", None),
    ("POST", "/register", None),
    ("POST", "/login", "token"),
    ("GET", "/products", None),
    ("POST", "/place-order", "order"),
    ("GET", "/get-order/{order_id}", None),
    ("PUT", "/update-order", None),
    ("DELETE", "/cancel-order/{order_id}", None),
    ("GET", "/get-user", None),
    ("PUT", "/update-user", None),
    ("DELETE", "/deactivate-user", None),
]
RUNTIME_IDS = {"user_id": "{{userId}}", "order_id": "{{orderId}}"}

SAVE_SCRIPTS = {
    "token": ["const body = pm.response.json();",
              "pm.collectionVariables.set('token', body.token);",
              "pm.collectionVariables.set('userId', body.user.id);"],
    "order": ["pm.collectionVariables.set('orderId', pm.response.json().id);"],
}


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _example_body(spec: dict, operation: dict) -> str | None:
    body = operation.get("requestBody")
    if not body:
        return None
    schema = _resolve(spec, body["content"]["application/json"]["schema"])
    values = {}
    required = set(schema.get("required", ()))
    for name, prop in schema["properties"].items():
        if prop.get("format") == "password" and name not in required:
            continue  # an optional password change would end the token the later steps use
        if name in RUNTIME_IDS:
            values[name] = f"@{name}@"
        elif prop.get("examples"):
            values[name] = prop["examples"][0]
    text = json.dumps(values, indent=2, ensure_ascii=False)
    for name, variable in RUNTIME_IDS.items():
        text = text.replace(f'"@{name}@"', variable)  # a number in the JSON, filled in by Postman
    return text


def _item(spec: dict, method: str, path: str, saves: str | None) -> dict:
    operation = spec["paths"][path][method.lower()]  # KeyError: the spec no longer has this step
    url_path = path.replace("{order_id}", "{{orderId}}").replace("{user_id}", "{{userId}}")
    request: dict = {
        "method": method,
        "header": [{"key": "Content-Type", "value": "application/json"}] if operation.get("requestBody") else [],
        "url": {"raw": "{{baseUrl}}" + url_path, "host": ["{{baseUrl}}"],
                "path": [part for part in url_path.split("/") if part]},
        "description": operation.get("description", ""),
    }
    if not operation.get("security", spec.get("security")):
        request["auth"] = {"type": "noauth"}
    body = _example_body(spec, operation)
    if body is not None:
        request["body"] = {"mode": "raw", "raw": body, "options": {"raw": {"language": "json"}}}
    ok = min(int(code) for code in operation["responses"] if code.isdigit() and code.startswith("2"))
    tests = [f"pm.test('status {ok}', () => pm.response.to.have.status({ok}));"] + SAVE_SCRIPTS.get(saves, [])
    return {"name": f"{operation.get('summary', path)} ({method} {path})", "request": request,
            "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": tests}}]}


def build_collection() -> dict:
    spec = build_spec()
    return {
        "info": {
            "name": "SUSTech Merch Store — the seed's flows",
            "description": "Derived from the OpenAPI spec by scripts/postman.py; run in order: login stores the token.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]},
        "variable": [{"key": "baseUrl", "value": "http://127.0.0.1:8080"}, {"key": "token", "value": ""},
                     {"key": "userId", "value": ""}, {"key": "orderId", "value": ""}],
        "item": [_item(spec, method, path, saves) for method, path, saves in FLOW],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed collection is stale")
    args = parser.parse_args()
    text = json.dumps(build_collection(), indent=2, ensure_ascii=False) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run .venv/bin/python scripts/postman.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
