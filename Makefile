# The SUSTech Merch Store. `make run` and `make test` set themselves up on a fresh machine.
.PHONY: setup gen run stack test test-compose bench lint clean

setup:
	@scripts/setup.sh

gen: setup
	@scripts/gen.sh

run: setup
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
