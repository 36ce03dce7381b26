# shellcheck shell=bash
# Sourced by the scripts: sets and exports the store's settings exactly as every process resolves
# them (the environment wins over `.env`, `.env` over the defaults) by asking the Python code that
# the services use (py_server/devrun.py), never by parsing `.env` again. A bad setting stops the
# script with the sentence that names it. Before set-up (no .venv yet) only the environment counts.
_merch_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x $_merch_root/.venv/bin/python ]]; then
  _merch_settings=$(cd "$_merch_root" && .venv/bin/python -m py_server.devrun settings) || exit 1
  eval "$_merch_settings"
  export MERCH_ENV MERCH_STATE_DIR MERCH_DATABASE_URL MERCH_KAFKA_BOOTSTRAP MERCH_KAFKA_TOPIC \
    MERCH_DB_ADDR MERCH_LOG_ADDR MERCH_DB_BIND MERCH_LOG_BIND MERCH_REST_BIND MERCH_START_TIMEOUT
  unset _merch_settings
fi
unset _merch_root
