# The two commands of the README (`make run`, `make test`) work on a fresh
# machine: `deps` installs what the project needs that cargo does not fetch.
.PHONY: run test deps lint conformance bench

CARGO ?= cargo

## Main job on the built-in default: inference on the synthetic tiny preset.
run: deps
	$(CARGO) run --release --quiet -- infer

## The whole test suite (unit, property, integration).
test: deps
	$(CARGO) test --workspace

deps:
	@scripts/install-deps.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Logits against Hugging Face transformers (installs torch into target/; opt-in).
conformance:
	tests/conformance/run.sh

bench:
	$(CARGO) bench --bench golden
