"""WSGI middleware: the request id, and the seed's request/response log records.

For every request, whatever its outcome (404 and 500 included):
- `X-Request-ID` is taken from the request when it is a sane token
  (1 to 128 of `A-Z a-z 0-9 . _ : -`), else a new uuid4 hex; it is put in the
  WSGI environ for the handlers (and so into gRPC metadata) and returned in
  the response's `X-Request-ID` header;
- `Incoming request: POST /place-order` is logged when it arrives and
  `Response status: 201 for POST /place-order` when it is answered, with the
  fields method, path, status, latency_ms, user_id and request_id.

Records go through the log-shipping client, whose calls return at once and
never raise: logging can neither slow nor fail a request.
"""
from __future__ import annotations

import logging
import time

from py_server.request_context import accept_or_generate

REQUEST_ID_KEY = "merch.request_id"
USER_ID_KEY = "merch.user_id"
MAX_LOGGED_PATH = 1024  # the logging service's limit for a field value

_log = logging.getLogger(__name__)


class RequestLog:
    def __init__(self, app, shipper):
        self.app = app
        self.shipper = shipper

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = accept_or_generate(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = request_id
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")[:MAX_LOGGED_PATH]
        self._ship("info", f"Incoming request: {method} {path}", request_id, method=method, path=path)

        def start_logged(status: str, headers: list, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            code = int(status.split(" ", 1)[0])
            self._ship(
                "error" if code >= 500 else "info",
                f"Response status: {code} for {method} {path}",
                request_id,
                method=method, path=path, status=code,
                latency_ms=f"{(time.perf_counter() - started) * 1000:.2f}",
                user_id=environ.get(USER_ID_KEY),
            )
            return start_response(status, headers, exc_info)

        return self.app(environ, start_logged)

    def _ship(self, level: str, message: str, request_id: str, **fields) -> None:
        try:
            self.shipper.log(level, message, request_id=request_id, **fields)
        except Exception:  # noqa: BLE001 - the shipper promises not to raise; a request never fails for a log line
            _log.exception("log shipping failed")
