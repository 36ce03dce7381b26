# One small image for the store's Python processes (DB service, logging service,
# REST gateway); compose.yaml picks the command. Non-root, pinned base and deps.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes reuse this layer. psycopg2-binary and
# grpcio ship manylinux wheels: no compiler needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml ./
COPY py_server ./py_server
COPY api_rest ./api_rest
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin merch \
    && mkdir -p /var/lib/merch && chown merch /var/lib/merch

USER merch
ENV MERCH_STATE_DIR=/var/lib/merch
# Overridden per service in compose.yaml.
CMD ["python", "-m", "py_server.db_service", "--bind", "0.0.0.0:50051"]
