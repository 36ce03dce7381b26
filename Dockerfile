# One small image for the store's Python processes (DB service, logging service,
# REST gateway); compose.yaml picks the command. Non-root, pinned base and deps.
# The base is a build argument so that a machine with no image registry can build on a
# local stand-in (scripts/images.sh); compose.yaml passes MERCH_PYTHON_IMAGE here.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Behind a TLS-intercepting proxy, pip must trust that proxy's CA: the optional BuildKit secret
# `extra_ca` (compose.yaml: MERCH_EXTRA_CA_FILE) holds such certificates. It is mounted only while
# pip runs and never lands in a layer; without it pip trusts the image's own CA bundle.
# Dependencies first, so code changes reuse this layer. psycopg2-binary and
# grpcio ship manylinux wheels: no compiler needed.
COPY requirements.txt ./
RUN --mount=type=secret,id=extra_ca \
    if [ -s /run/secrets/extra_ca ]; then \
      cat /etc/ssl/certs/ca-certificates.crt /run/secrets/extra_ca >/tmp/ca.pem && export PIP_CERT=/tmp/ca.pem; \
    fi \
    && pip install -r requirements.txt \
    && rm -f /tmp/ca.pem

COPY pyproject.toml ./
COPY py_server ./py_server
COPY api_rest ./api_rest
RUN --mount=type=secret,id=extra_ca \
    if [ -s /run/secrets/extra_ca ]; then \
      cat /etc/ssl/certs/ca-certificates.crt /run/secrets/extra_ca >/tmp/ca.pem && export PIP_CERT=/tmp/ca.pem; \
    fi \
    && pip install --no-deps . \
    && rm -f /tmp/ca.pem \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin merch \
    && mkdir -p /var/lib/merch && chown merch /var/lib/merch

USER merch
ENV MERCH_STATE_DIR=/var/lib/merch
# Overridden per service in compose.yaml.
CMD ["python", "-m", "py_server.db_service", "--bind", "0.0.0.0:50051"]
