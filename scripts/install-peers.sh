#!/usr/bin/env bash
# Installs the peer engines `make bench-peers` and `make check-peers` use,
# into target/peers-venv, both built from source for this CPU
# (-DGGML_NATIVE=ON):
# - llama.cpp through PyPI's llama-cpp-python (pinned; about 10 minutes on
#   2 cores);
# - ik_llama.cpp through PyPI's ik-llama-cpp-python (pinned by version and
#   hash; its sdist vendors ik_llama.cpp and builds ik_llama.cpp's
#   llama-quantize too; about 15 minutes on 2 cores). That sdist lacks
#   common/cmake/build-info-gen-cpp.cmake, the script its build runs to
#   write common/build-info.cpp, so this script unpacks the sdist under
#   target/peers-src, writes that script (fixed build info, no git), and
#   installs from there.
# Idempotent: quiet when both are there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/peers-venv
llama_version=0.3.16
ik_version=0.1.5
ik_sha256=33c67eb99e4dcab5e611050433243815709b8b3067753f9ce18375013cf002ad
have() { # module, version
    "$venv/bin/python" -c "import $1, sys; sys.exit($1.__version__ != '$2')" 2>/dev/null
}
# ik_llama.cpp also needs its llama-quantize to run (its --help exits 1
# after the usage; a missing library stops it before).
have_ik() {
    have ik_llama_cpp "$ik_version" || return 1
    local q usage
    q=$("$venv/bin/python" -c "import ik_llama_cpp; print(ik_llama_cpp.find_quantize_bin())")
    usage=$("$q" --help 2>&1 || true)
    [[ $usage == *usage:* ]]
}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! have llama_cpp "$llama_version"; then
    echo "install-peers: building llama.cpp through llama-cpp-python $llama_version into $venv..." >&2
    CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF" "$venv/bin/pip" install -q "llama-cpp-python==$llama_version"
fi
if ! have_ik; then
    echo "install-peers: building ik_llama.cpp through ik-llama-cpp-python $ik_version into $venv..." >&2
    src=target/peers-src
    rm -rf "$src" && mkdir -p "$src"
    "$venv/bin/pip" install -q "scikit-build-core>=0.8" cmake ninja
    echo "ik-llama-cpp-python==$ik_version --hash=sha256:$ik_sha256" > "$src/requirements.txt"
    "$venv/bin/pip" download -q --no-deps --no-binary :all: --no-build-isolation \
        --require-hashes -r "$src/requirements.txt" -d "$src"
    tar -xzf "$src/ik_llama_cpp_python-$ik_version.tar.gz" -C "$src"
    tree="$src/ik_llama_cpp_python-$ik_version"
    mkdir -p "$tree/vendor/ik_llama.cpp/common/cmake"
    cat > "$tree/vendor/ik_llama.cpp/common/cmake/build-info-gen-cpp.cmake" <<'CMAKE'
# Written by tritium's scripts/install-peers.sh (absent from the sdist):
# fills common/build-info.cpp.in; run with the vendored tree as the
# working directory.
set(BUILD_NUMBER 0)
set(BUILD_COMMIT "ik-llama-cpp-python-sdist")
set(BUILD_COMPILER "${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION}")
set(BUILD_TARGET "native")
configure_file(common/build-info.cpp.in common/build-info.cpp @ONLY)
CMAKE
    # The package installs libllama.so and libggml.so into ik_llama_cpp/lib and
    # llama-quantize into ik_llama_cpp/bin without a run path between them.
    CMAKE_ARGS="-DGGML_NATIVE=ON -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH=\$ORIGIN;\$ORIGIN/../lib" \
        "$venv/bin/pip" install -q --no-build-isolation "./$tree"
fi
