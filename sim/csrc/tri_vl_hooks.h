// Force-included (`-include`) into every translation unit of the Verilator
// build of tritium-sim, before anything else. build.rs compiles everything
// with -DVL_PRINTF=tri_vl_printf, so every message the Verilator runtime
// prints (including "%Error: ... Assertion failed in ..." lines written just
// before an assertion calls vl_stop) goes through the shim, which keeps the
// text so the error returned to Rust carries the assertion's message.
#ifndef TRI_VL_HOOKS_H_
#define TRI_VL_HOOKS_H_

void tri_vl_printf(const char* formatp, ...) __attribute__((format(printf, 1, 2)));

#endif  // TRI_VL_HOOKS_H_
