//! The sweep's tile extrapolation (`tritium_rtl::layer_cycles`) against a
//! full measurement, on every built accelerator configuration, in decode
//! (one token row) and prefill (all of the buffer's rows), at a full-rate
//! memory and at a quarter-rate one with latency: a group of BitLinears of
//! unequal tile counts (as q/k/v), small enough to simulate whole.

use tritium_golden::{LinearId, Proj};
use tritium_rtl::layer_cycles::{measure_group, Method};
use tritium_rtl::{MemoryConfig, RtlBackend, ACCEL_CONFIGS};

#[test]
fn extrapolated_counters_equal_a_full_measurement_on_every_config() {
    let ids = [
        LinearId::new(0, Proj::Q),
        LinearId::new(0, Proj::K),
        LinearId::new(0, Proj::V),
    ];
    for cfg in ACCEL_CONFIGS {
        let bus = cfg.bus_bytes as f64;
        // K over two segments of the small arrays (KMax 128), one of the others.
        let k = 200;
        let tiles = [14, 11, 12];
        let ns: Vec<usize> = tiles.iter().map(|t| t * cfg.array.cols - 1).collect();
        for (bpc, latency) in [(bus, 1), (bus / 4.0, 20)] {
            let mem = MemoryConfig {
                bytes_per_cycle: bpc,
                latency,
            };
            for rows in [1, cfg.tokens] {
                let mut rtl = RtlBackend::new(cfg, cfg.tokens, mem).unwrap();
                let full = measure_group(&mut rtl, &ids, &ns, k, rows, true).unwrap();
                let ext = measure_group(&mut rtl, &ids, &ns, k, rows, false).unwrap();
                let at = format!(
                    "{} at {bpc} B/cycle, latency {latency}, {rows} rows",
                    cfg.name
                );
                assert_eq!(full.method, Method::Full, "{at}");
                assert!(
                    matches!(ext.method, Method::Extrapolated { affine: true, .. }),
                    "{at}: {:?}",
                    ext.method
                );
                assert_eq!(ext.calls, full.calls, "{at}");
                assert!(ext.simulated_cycles < full.simulated_cycles, "{at}");
            }
        }
    }
}
