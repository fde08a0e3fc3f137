// One job of the accelerator tri_accel driven entirely in C++: the twin of
// the per-cycle loop `AccelSim::drive` in sim/src/accel_job.rs (untraced
// jobs), with the weight memory of sim/src/memory.rs, so that a job costs one
// FFI call instead of several per simulated cycle.
//
// Contract: for the same model state and job, every port is driven with the
// same values in the same cycles as the Rust loop drives them, so cycle
// counts, counters, results and the ports' final values are identical. Any
// change to the Rust loop or to MemoryModel must be made here too; the test
// sim/tests/accel_native.rs runs both on random jobs and compares everything.
//
// The Rust side checks the job (sizes, image lengths, memory settings) before
// calling, computes the memory's integer parameters and the cycle budget,
// formats every error message from the state returned here, and unpacks the
// results.

#ifndef TRI_ACCEL_JOB_H
#define TRI_ACCEL_JOB_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

extern "C" {

// One run: its weight image and the number of results it produces (tiles *
// tokens). Mirrors ffi::TriJobRun.
struct TriJobRun {
    const uint8_t* image;
    size_t image_len;  // a positive multiple of the bus width
    uint32_t tiles;
    uint32_t _pad;
    uint64_t results;
};

// Mirrors ffi::TriJobDesc.
struct TriJobDesc {
    uint32_t tokens;
    uint32_t beats;
    uint32_t lanes;  // the configuration's Lanes and BusBytes
    uint32_t bus;
    // load_words words of lanes bytes each (null when load_words is 0).
    const int8_t* acts;
    uint64_t load_words;
    const TriJobRun* runs;
    uint64_t n_runs;
    uint64_t max_cycles;
    uint64_t result_every;  // >= 1
    // MemoryModel: rate in thousandths of a byte per cycle, latency in
    // cycles, beats in flight at most.
    uint64_t mem_rate;
    uint64_t mem_latency;
    uint64_t mem_max_outstanding;
};

// Why the loop stopped (TriJobOut::end).
enum TriJobEnd : uint32_t {
    kJobDone = 0,
    kJobModelError = 1,    // the model recorded an error (status in the return value)
    kJobTimeout = 2,       // max_cycles run
    kJobNeverValid = 3,    // a result taken that was never valid before
    kJobExtraResult = 4,   // more results than the runs produce
    kJobWrongLast = 5,     // r_last_o wrong on result res_in_run of run res_run
    kJobBadArgument = 6,   // a buffer too small or an argument out of range
};

// Mirrors ffi::TriJobOut. Buffers are the caller's: start_counters holds
// n_runs * 9 counters, starts and ends n_runs cycles each, result_words the
// raw r_data_o words of every result (sum of results * rwords).
struct TriJobOut {
    uint64_t* starts;          // cycle (relative to the job's first) of each command handshake
    uint64_t* start_counters;  // the counters after that handshake
    uint64_t* ends;            // cycle of each run's last result
    uint32_t* result_words;
    uint64_t result_words_len;
    uint64_t rwords;  // words of one result
    // State at the end (also after an error): cycles run, loop state.
    uint64_t cycles;
    uint64_t ld_next;
    uint64_t ld_end;  // cycle of the last load handshake, or UINT64_MAX
    uint64_t cmd_next;
    uint64_t res_run;
    uint64_t res_in_run;
    uint64_t delivered_beats;
    uint32_t mem_idle;
    uint32_t last_flag;  // r_last_o of the result of kJobWrongLast
    uint32_t end;        // TriJobEnd
    uint32_t _pad;
};

}  // extern "C"

namespace tri_job {

// The weight memory: sim/src/memory.rs MemoryModel, same arithmetic.
class Memory {
public:
    Memory(const TriJobDesc& d, size_t bus)
        : bus_(bus), rate_(d.mem_rate), latency_(d.mem_latency),
          max_out_(d.mem_max_outstanding) {
        for (uint64_t r = 0; r < d.n_runs; ++r) queue_.push_back({d.runs[r].image, d.runs[r].image_len, 0});
    }

    // The beat on the port this cycle (null: none) and its last flag.
    const uint8_t* port(bool* last) const {
        if (!in_flight_.empty() && in_flight_.front().ready <= cycle_) {
            *last = in_flight_.front().last;
            return in_flight_.front().data;
        }
        return nullptr;
    }

    void tick(bool taken) {
        bool last;
        if (taken && port(&last)) {
            in_flight_.pop_front();
            ++delivered_;
        }
        const uint64_t beat = static_cast<uint64_t>(bus_) * 1000;
        credit_ += rate_;
        bool issued = false;
        if (credit_ >= beat && in_flight_.size() < max_out_ && !queue_.empty()) {
            Image& img = queue_.front();
            issued = true;
            const uint8_t* data = img.data + img.next * bus_;
            ++img.next;
            const bool is_last = img.next * bus_ == img.len;
            if (is_last) queue_.pop_front();
            in_flight_.push_back({cycle_ + latency_, data, is_last});
            credit_ -= beat;
        }
        if (!issued && credit_ > beat) credit_ = beat;  // no banked bandwidth
        ++cycle_;
    }

    bool idle() const { return queue_.empty() && in_flight_.empty(); }
    uint64_t delivered() const { return delivered_; }

private:
    struct Image {
        const uint8_t* data;
        size_t len;
        size_t next;  // next beat to read
    };
    struct Beat {
        uint64_t ready;  // cycle from which it is presented
        const uint8_t* data;
        bool last;
    };
    size_t bus_;
    uint64_t rate_, latency_, max_out_;
    std::deque<Image> queue_;
    std::deque<Beat> in_flight_;
    uint64_t credit_ = 0, cycle_ = 0, delivered_ = 0;
};

// Little-endian bytes into 32-bit port words (byte b at bits 8*(b%4) of
// word b/4), as AccelSim::set_weight / set_load pack them.
inline void pack_bytes(const uint8_t* bytes, size_t n, std::vector<uint32_t>& words) {
    for (uint32_t& w : words) w = 0;
    for (size_t b = 0; b < n; ++b) words[b / 4] |= static_cast<uint32_t>(bytes[b]) << (8 * (b % 4));
}

// Port ids and bits of the accelerator models (shim.cpp, sim/src/ffi.rs).
enum : uint32_t {
    kInCmdValid = 2, kInLdValid = 3, kInLdLast = 4, kInWValid = 5, kInWLast = 6, kInRReady = 7,
    kInWData = 0, kInLdData = 1, kInCmd = 2, kOutRData = 0,
    kBitCmdReady = 1u << 0, kBitLdReady = 1u << 1, kBitWReady = 1u << 2,
    kBitRValid = 1u << 3, kBitRLast = 1u << 4,
};

// Runs the job on model `m` (the TriSim interface: set_bit, set_words,
// get_words, get_bits, get_counters, tick, and `err.kind` for a recorded
// error). Fills `o` (o.cycles is kept current, so it is right even when a
// fatal error unwinds out of a tick); returns the model's error kind (0:
// none).
template <class Model>
int run(Model& m, const TriJobDesc& d, TriJobOut& o) {
    const size_t lanes = d.lanes, bus = d.bus;
    const uint64_t n = d.n_runs;
    const uint64_t load_words = d.acts ? d.load_words : 0;
    Memory memory(d, bus);
    std::vector<uint32_t> w_words((bus + 3) / 4), l_words((lanes + 3) / 4);
    std::vector<uint32_t> head(o.rwords);
    bool head_full = false, head_last = false;
    uint64_t res_base = 0;  // first result word of run res_run

    uint64_t ld_next = 0, ld_shown = UINT64_MAX, cmd_next = 0;
    bool cmd_shown = false, cmd_valid = false, r_ready = false;
    bool w_shown = false;
    uint64_t w_shown_id = 0;
    uint64_t res_run = 0, res_in_run = 0;
    o.ld_end = UINT64_MAX;
    o.end = kJobDone;
    m.set_bit(kInRReady, 0);

    auto finish = [&](uint64_t t, uint32_t end) {
        o.cycles = t;
        o.ld_next = ld_next;
        o.cmd_next = cmd_next;
        o.res_run = res_run;
        o.res_in_run = res_in_run;
        o.delivered_beats = memory.delivered();
        o.mem_idle = memory.idle() ? 1 : 0;
        o.end = end;
        return m.err.kind;
    };

    for (uint64_t t = 0;; ++t) {
        const bool loading = ld_next < load_words;
        if (t >= d.max_cycles) return finish(t, kJobTimeout);

        // Inputs of this cycle.
        if (loading) {
            if (ld_shown != ld_next) {
                pack_bytes(reinterpret_cast<const uint8_t*>(d.acts) + ld_next * lanes, lanes, l_words);
                m.set_words(kInLdData, l_words.data(), l_words.size());
                const bool last = ld_next + 1 == load_words;
                m.set_bit(kInLdValid, 1);
                m.set_bit(kInLdLast, last);
                ld_shown = ld_next;
            }
        } else if (ld_shown != UINT64_MAX) {
            m.set_bit(kInLdValid, 0);
            m.set_bit(kInLdLast, 0);
            ld_shown = UINT64_MAX;
        }
        const bool cmd_on = !loading && cmd_next < n;
        if (cmd_on) {
            if (!cmd_shown) {
                const uint32_t cmd[3] = {d.runs[cmd_next].tiles, d.beats, d.tokens};
                m.set_words(kInCmd, cmd, 3);
                m.set_bit(kInCmdValid, 1);
                cmd_shown = true;
                cmd_valid = true;
            }
        } else if (cmd_valid) {
            m.set_bit(kInCmdValid, 0);
            cmd_valid = false;
        }
        bool w_last = false;
        const uint8_t* beat = memory.port(&w_last);
        const bool w_on = beat != nullptr;
        if (w_on) {
            const uint64_t id = memory.delivered();
            if (!w_shown || w_shown_id != id) {
                pack_bytes(beat, bus, w_words);
                m.set_words(kInWData, w_words.data(), w_words.size());
                m.set_bit(kInWValid, 1);
                m.set_bit(kInWLast, w_last);
                w_shown = true;
                w_shown_id = id;
            }
        } else if (w_shown) {
            m.set_bit(kInWValid, 0);
            m.set_bit(kInWLast, 0);
            w_shown = false;
        }
        const bool ready = t % d.result_every == 0;
        if (ready != r_ready) {
            m.set_bit(kInRReady, ready);
            r_ready = ready;
        }

        uint32_t pre = 0;
        o.cycles = t + 1;
        m.tick(&pre);
        if (m.err.kind != 0) return finish(t + 1, kJobModelError);

        // Handshakes of this cycle.
        if (loading && (pre & kBitLdReady)) {
            ++ld_next;
            if (ld_next == load_words) o.ld_end = t;
        }
        if (cmd_on && (pre & kBitCmdReady)) {
            o.starts[cmd_next] = t;
            m.get_counters(o.start_counters + 9 * cmd_next);
            ++cmd_next;
            cmd_shown = false;
        }
        memory.tick(w_on && (pre & kBitWReady));
        if (r_ready && (pre & kBitRValid)) {
            if (!head_full) return finish(t + 1, kJobNeverValid);
            head_full = false;
            if (res_run >= n) return finish(t + 1, kJobExtraResult);
            const uint64_t at = res_base + res_in_run * o.rwords;
            if (at + o.rwords > o.result_words_len) return finish(t + 1, kJobBadArgument);
            for (uint64_t i = 0; i < o.rwords; ++i) o.result_words[at + i] = head[i];
            ++res_in_run;
            const bool want_last = res_in_run == d.runs[res_run].results;
            if (head_last != want_last) {
                o.last_flag = head_last ? 1 : 0;
                return finish(t + 1, kJobWrongLast);
            }
            if (want_last) {
                o.ends[res_run] = t;
                res_base += d.runs[res_run].results * o.rwords;
                ++res_run;
                res_in_run = 0;
            }
        }

        // Outputs of the next cycle.
        const uint32_t post = m.get_bits();
        if ((post & kBitRValid) && !head_full) {
            m.get_words(kOutRData, head.data(), head.size());
            head_full = true;
            head_last = (post & kBitRLast) != 0;
        }

        if (ld_next == load_words && cmd_next == n && res_run == n) return finish(t + 1, kJobDone);
    }
}

}  // namespace tri_job

#endif  // TRI_ACCEL_JOB_H
