"""The REST gateway: the store's public HTTP API, a gRPC client of the DB and logging services.

`create_app(deps)` (api_rest.app) builds the Bottle app; `python -m api_rest` serves it.
The gateway never touches the database: every operation is one or two gRPC calls.
"""
