#!/usr/bin/env bash
# `make stack`: the whole store scaled out on loopback, in the foreground (PostgreSQL, Kafka, 2 DB
# services, the logging service, 3 gateways, nginx, Prometheus). Ports, settings and what it promises:
# harness/stack.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m harness stack
