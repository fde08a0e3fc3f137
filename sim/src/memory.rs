//! The memory that feeds the accelerator's weight port (`w_*` of
//! `rtl/tri_accel.sv`), cycle by cycle: a bandwidth in bytes per cycle and
//! a latency in cycles, set per run.
//!
//! # Model
//! The memory streams a queue of images (one per run, in order), beat by
//! beat, `bus_bytes` bytes per beat. Every cycle it earns `bytes_per_cycle`
//! of credit (kept in thousandths of a byte, so runs are exact and
//! repeatable; at most one beat of credit is kept while it cannot issue).
//! It issues a read of the next beat when it has a beat of credit and fewer
//! than [`MemoryModel::max_outstanding`] beats are in flight or waiting at
//! the port; a read issued in cycle `c` is presented on the port from cycle
//! `c + latency` (in issue order) and stays there until the accelerator
//! takes it (`w_ready_o`). The outstanding limit,
//! `ceil(latency * bytes_per_cycle / bus_bytes) + 2` beats, is what a DMA
//! engine needs to keep the bandwidth busy across the latency (Little's
//! law), so a consumer that always takes a beat sees exactly
//! `bytes_per_cycle` on average.
//!
//! It counts the beats and bytes it delivered.

use std::collections::VecDeque;

/// Largest latency accepted, in cycles.
pub const LATENCY_LIMIT: u32 = 1 << 20;

/// Bandwidth and latency of the weight memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryConfig {
    /// Bytes per cycle, in `(0, bus_bytes]` (a 64-byte bus at 250 MHz
    /// reading 16 GB/s is 64).
    pub bytes_per_cycle: f64,
    /// Cycles from a read to its data on the port, in `1..=`[`LATENCY_LIMIT`].
    pub latency: u32,
}

impl MemoryConfig {
    /// A memory as fast as a bus of `bus_bytes`, one cycle of latency.
    pub fn full_rate(bus_bytes: usize) -> MemoryConfig {
        MemoryConfig {
            bytes_per_cycle: bus_bytes as f64,
            latency: 1,
        }
    }

    /// Checks the two numbers against a bus of `bus_bytes`; the message
    /// names the setting at fault.
    pub fn check(&self, bus_bytes: usize) -> Result<(), String> {
        let b = self.bytes_per_cycle;
        if !(b.is_finite() && b >= 0.001 && b <= bus_bytes as f64) {
            return Err(format!(
                "memory bandwidth must be in 0.001..={bus_bytes} bytes per cycle (the weight port is {bus_bytes} bytes wide), got {b}"
            ));
        }
        if !(1..=LATENCY_LIMIT).contains(&self.latency) {
            return Err(format!(
                "memory latency must be in 1..={LATENCY_LIMIT} cycles, got {}",
                self.latency
            ));
        }
        Ok(())
    }

    /// The bandwidth in thousandths of a byte per cycle (rounded, at least 1).
    fn milli_bytes(&self) -> u64 {
        ((self.bytes_per_cycle * 1000.0).round() as u64).max(1)
    }
}

/// The memory feeding one weight port; see the module docs.
#[derive(Debug, Clone)]
pub struct MemoryModel {
    bus_bytes: usize,
    rate: u64,
    latency: u64,
    max_outstanding: usize,
    /// Images still to stream: (image, next beat to read).
    queue: VecDeque<(Vec<u8>, usize)>,
    /// Beats read: (cycle from which it is presented, bytes, last beat of its image).
    in_flight: VecDeque<(u64, Vec<u8>, bool)>,
    credit: u64,
    cycle: u64,
    delivered_beats: u64,
}

impl MemoryModel {
    /// A memory for a `bus_bytes` port; `cfg` must pass [`MemoryConfig::check`].
    pub fn new(cfg: &MemoryConfig, bus_bytes: usize) -> Result<MemoryModel, String> {
        cfg.check(bus_bytes)?;
        let max_outstanding = ((u64::from(cfg.latency) * cfg.milli_bytes())
            .div_ceil(bus_bytes as u64 * 1000)
            + 2) as usize;
        Ok(MemoryModel {
            bus_bytes,
            rate: cfg.milli_bytes(),
            latency: u64::from(cfg.latency),
            max_outstanding,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            credit: 0,
            cycle: 0,
            delivered_beats: 0,
        })
    }

    /// Beats in flight or waiting at the port at most.
    pub fn max_outstanding(&self) -> usize {
        self.max_outstanding
    }

    /// The bandwidth in thousandths of a byte per cycle and the latency in
    /// cycles, as this model counts them (for the C++ twin of the job loop,
    /// csrc/accel_job.h).
    pub(crate) fn rate_and_latency(&self) -> (u64, u64) {
        (self.rate, self.latency)
    }

    /// Queues one run's image (whole beats: its length a multiple of the bus).
    pub fn push_image(&mut self, image: Vec<u8>) -> Result<(), String> {
        if image.is_empty() || !image.len().is_multiple_of(self.bus_bytes) {
            return Err(format!(
                "a weight image must be whole {}-byte beats, got {} bytes",
                self.bus_bytes,
                image.len()
            ));
        }
        self.queue.push_back((image, 0));
        Ok(())
    }

    /// The beat on the port this cycle, if any: `(bytes, last)`; `last`
    /// marks the final beat of an image (`w_last_i`).
    pub fn port(&self) -> Option<(&[u8], bool)> {
        match self.in_flight.front() {
            Some((ready, data, last)) if *ready <= self.cycle => Some((data, *last)),
            _ => None,
        }
    }

    /// Ends the cycle: `taken` says whether the port's beat was accepted at
    /// this clock edge. Issues this cycle's read, if any, then advances.
    pub fn tick(&mut self, taken: bool) {
        if taken && self.port().is_some() {
            self.in_flight.pop_front();
            self.delivered_beats += 1;
        }
        let beat = self.bus_bytes as u64 * 1000;
        self.credit += self.rate;
        let mut issued = false;
        if self.credit >= beat && self.in_flight.len() < self.max_outstanding {
            if let Some((img, next)) = self.queue.front_mut() {
                issued = true;
                let at = *next * self.bus_bytes;
                let data = img[at..at + self.bus_bytes].to_vec();
                *next += 1;
                let last = *next * self.bus_bytes == img.len();
                if last {
                    self.queue.pop_front();
                }
                self.in_flight
                    .push_back((self.cycle + self.latency, data, last));
                self.credit -= beat;
            }
        }
        if !issued {
            // A memory that could not issue does not bank bandwidth.
            self.credit = self.credit.min(beat);
        }
        self.cycle += 1;
    }

    /// Nothing left to read or deliver.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_empty()
    }

    /// Beats delivered (taken by the port) so far.
    pub fn delivered_beats(&self) -> u64 {
        self.delivered_beats
    }

    /// Bytes delivered so far.
    pub fn delivered_bytes(&self) -> u64 {
        self.delivered_beats * self.bus_bytes as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a consumer that takes every beat; returns the cycle each beat
    /// was taken in.
    fn stream(cfg: MemoryConfig, bus: usize, beats: usize) -> Vec<u64> {
        let mut m = MemoryModel::new(&cfg, bus).unwrap();
        m.push_image((0..beats * bus).map(|i| i as u8).collect())
            .unwrap();
        let mut taken = Vec::new();
        let mut next = 0u8;
        for c in 0..100_000u64 {
            let t = if let Some((d, last)) = m.port() {
                assert_eq!(d[0], next, "beats in order");
                next = next.wrapping_add(bus as u8);
                assert_eq!(last, taken.len() + 1 == beats);
                taken.push(c);
                true
            } else {
                false
            };
            m.tick(t);
            if m.is_idle() {
                break;
            }
        }
        assert_eq!(m.delivered_bytes(), (beats * bus) as u64);
        taken
    }

    #[test]
    fn full_rate_delivers_a_beat_per_cycle_after_the_latency() {
        for latency in [1u32, 2, 7, 100] {
            let cfg = MemoryConfig {
                bytes_per_cycle: 8.0,
                latency,
            };
            let t = stream(cfg, 8, 50);
            // The first read is issued in cycle 0 (one beat of credit).
            assert_eq!(t[0], u64::from(latency), "latency {latency}");
            assert!(
                t.windows(2).all(|w| w[1] == w[0] + 1),
                "latency {latency}: {t:?}"
            );
        }
    }

    #[test]
    fn bandwidth_is_met_on_average() {
        for (b, bus) in [(2.5f64, 8usize), (0.5, 4), (12.8, 64), (63.0, 64), (1.0, 1)] {
            let cfg = MemoryConfig {
                bytes_per_cycle: b,
                latency: 30,
            };
            let t = stream(cfg, bus, 400);
            let span = (t[399] - t[0]) as f64;
            let rate = 399.0 * bus as f64 / span;
            assert!(
                (rate / b - 1.0).abs() < 0.01,
                "{b} B/cycle on {bus}: {rate}"
            );
        }
    }

    #[test]
    fn a_stalled_consumer_bounds_what_is_in_flight() {
        let cfg = MemoryConfig {
            bytes_per_cycle: 4.0,
            latency: 10,
        };
        let mut m = MemoryModel::new(&cfg, 4).unwrap();
        m.push_image(vec![0; 4 * 100]).unwrap();
        for _ in 0..1000 {
            m.tick(false);
        }
        assert_eq!(m.in_flight.len(), m.max_outstanding());
        assert_eq!(m.max_outstanding(), 12);
        assert_eq!(m.delivered_beats(), 0);
    }

    #[test]
    fn images_follow_each_other_with_their_own_last() {
        let mut m = MemoryModel::new(&MemoryConfig::full_rate(2), 2).unwrap();
        m.push_image(vec![1; 4]).unwrap();
        m.push_image(vec![2; 2]).unwrap();
        let mut seen = Vec::new();
        for _ in 0..20 {
            let t = m.port().map(|(d, l)| seen.push((d[0], l))).is_some();
            m.tick(t);
        }
        assert_eq!(seen, [(1, false), (1, true), (2, true)]);
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = |b: f64, latency: u32| MemoryConfig {
            bytes_per_cycle: b,
            latency,
        };
        for (b, l) in [
            (0.0, 1),
            (-1.0, 1),
            (f64::NAN, 1),
            (65.0, 1),
            (8.0, 0),
            (8.0, LATENCY_LIMIT + 1),
        ] {
            assert!(MemoryModel::new(&bad(b, l), 64).is_err(), "{b} {l}");
        }
        let mut m = MemoryModel::new(&bad(8.0, 1), 8).unwrap();
        assert!(m.push_image(vec![0; 12]).is_err());
        assert!(m.push_image(Vec::new()).is_err());
    }
}
