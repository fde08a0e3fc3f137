#!/usr/bin/env bash
# Installs the peer engine `make bench-peers` measures: PyPI's
# llama-cpp-python (pinned), which builds llama.cpp from source for this CPU
# (-DGGML_NATIVE=ON; about 10 minutes on 2 cores), into target/peers-venv.
# Idempotent: quiet when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/peers-venv
version=0.3.16
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$version')" 2>/dev/null; then
    exit 0
fi
echo "install-peers: building llama.cpp through llama-cpp-python $version into $venv..." >&2
python3 -m venv "$venv"
CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF" "$venv/bin/pip" install -q "llama-cpp-python==$version"
