#!/bin/sh
# Builds and runs the CPU emulation of the CUDA kernels (emulate.cpp): needs
# a C++20 compiler, no CUDA. Not part of cargo test.
set -e
here=$(dirname "$0")
out=${TMPDIR:-/tmp}/tritium-cuda-emu
${CXX:-g++} -std=c++20 -O2 -pthread -Wall -Wno-unused-function -o "$out" "$here/emulate.cpp"
"$out"
