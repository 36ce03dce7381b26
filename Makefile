# The SUSTech Merch Store. `make run` and `make test` set themselves up on a fresh machine.
# `make run` installs only what running and exploring need (runtime Python packages, merchctl,
# grpcurl: no root); the other targets install everything (scripts/setup.sh says what).
.PHONY: setup setup-run gen run stack test test-compose bench lint clean

setup:
	@scripts/setup.sh full

setup-run:
	@scripts/setup.sh run

gen: setup
	@scripts/gen.sh

run: setup-run
	@scripts/run.sh

stack: setup
	@scripts/stack.sh

test: setup
	@scripts/test.sh

# compose.yaml for real: images (local stand-ins where no registry answers), `docker compose up --build
# --wait`, the stack driven through nginx, `docker compose down -v`. `make test` runs it too.
test-compose: setup
	@.venv/bin/python -m pytest tests/test_compose.py tests/test_deploy.py $(PYTEST_ARGS)

bench: setup
	@scripts/bench.sh $(BENCH_ARGS)

lint: setup
	@PATH="$(CURDIR)/.venv/bin:$$PATH" buf lint && PATH="$(CURDIR)/.venv/bin:$$PATH" buf format -d --exit-code
	@cd go_client && go vet ./...

clean:
	rm -rf .venv .tools bin
