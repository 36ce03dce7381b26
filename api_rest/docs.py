"""Swagger UI at /docs, from the assets installed with the `swagger-ui-py` package (no CDN).

Only Swagger UI's own files are taken from that package (it bundles Swagger UI 5,
which reads OpenAPI 3.1); its framework glue is not used.
"""
from __future__ import annotations

import importlib.util
import pathlib

from bottle import HTTPResponse, static_file

from api_rest.errors import not_found


def _assets_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("swagger_ui")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed (requirements.txt pins it)")
    return pathlib.Path(list(spec.submodule_search_locations)[0]) / "static"


ASSETS_DIR = _assets_dir()
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui-standalone-preset.js": "application/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
    "init.js": "application/javascript",
}

INIT_JS = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
});
"""

INDEX_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>SUSTech Merch Store API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <style>body { margin: 0; background: #fafafa; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""


def asset(name: str):
    if name not in ASSETS:
        raise not_found(f"no such Swagger UI file: {name}")
    if name == "init.js":
        return HTTPResponse(INIT_JS, headers={"Content-Type": ASSETS[name]})
    return static_file(name, root=str(ASSETS_DIR), mimetype=ASSETS[name])
