// Coverage build of tritium-sim (TRITIUM_SIM_COVERAGE=1, VM_COVERAGE=1):
// writes the coverage counts of one model's VerilatedContext. Included by
// shim.cpp only in a coverage build.
//
// If TRITIUM_COV_DIR names a directory, tri_cov::write puts the counts into
// two Verilator coverage files named <model>.<pid>.<n> (n counts the models
// of the process, so every file name is unique):
//   *.all.dat   every point (line, branch, toggle, user), each counted over
//               all instances of its source line (Verilator's default, which
//               keeps the files small);
//   *.user.dat  the user `cover` points only, one per instance: a cover in a
//               generate loop (per lane, per column) is one point per
//               iteration there.
// It changes the context's coverage data (drops all but the user points):
// call it once, when the model is freed. Without TRITIUM_COV_DIR nothing is
// written (one note on stderr per process); a file that cannot be written is
// reported on stderr.
#ifndef TRI_COV_H_
#define TRI_COV_H_

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "verilated.h"
#include "verilated_cov.h"

namespace tri_cov {

inline void write(VerilatedContext* ctx, const char* model) {
    static std::atomic<unsigned long long> serial{0};
    static std::atomic<bool> warned{false};
    const char* dir = std::getenv("TRITIUM_COV_DIR");
    if (!dir || !dir[0]) {
        if (!warned.exchange(true)) {
            std::fprintf(stderr, "tritium-sim: coverage build, but TRITIUM_COV_DIR is not set:"
                                 " coverage is not written\n");
        }
        return;
    }
    const std::string base = std::string(dir) + "/" + model + "."
                             + std::to_string(static_cast<long long>(getpid())) + "."
                             + std::to_string(serial.fetch_add(1));
    VerilatedCovContext* cov = ctx->coveragep();
    // Verilator's write ends the process (VL_FATAL) on an unwritable file:
    // try to create each file first.
    auto writable = [](const std::string& path) {
        std::FILE* f = std::fopen(path.c_str(), "w");
        if (!f) {
            std::fprintf(stderr, "tritium-sim: cannot write coverage file %s: %s\n",
                         path.c_str(), std::strerror(errno));
            return false;
        }
        std::fclose(f);
        return true;
    };
    const std::string all = base + ".all.dat";
    if (writable(all)) cov->write(all.c_str());
    const std::string user = base + ".user.dat";
    if (writable(user)) {
        cov->clearNonMatch("v_user/");
        cov->forcePerInstance(true);
        cov->write(user.c_str());
    }
}

}  // namespace tri_cov

#endif  // TRI_COV_H_
