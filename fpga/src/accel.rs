//! Accelerator configurations of the sweep: the `tri_accel` units (and
//! their decoders and arrays), named by presets or written out as
//! `CxL:FORMAT:kKMAX:tTMAX:bBUS` (e.g. `64x5:base3:k8192:t16:b64`).
//!
//! Every configuration is a [`tritium_golden::AccelConfig`] built by
//! `AccelConfig::new`, so `WordBytes` is derived exactly as the Verilator
//! models and the memory images derive it, and the Yosys parameters come
//! from `AccelConfig::sv_params`.

use tritium_golden::{AccelConfig, ArrayConfig, WeightFormat};

use crate::error::{Error, Result};

/// Named configurations: (name, spec, what it is). The default sweep
/// synthesizes all four.
pub const ACCEL_PRESETS: [(&str, &str, &str); 4] = [
    (
        "small-2bit",
        "4x5:2bit:k128:t4:b10",
        "4x5 array, 2-bit weights, 5-byte words, two per 10-byte bus beat (serializer path)",
    ),
    (
        "small-base3",
        "4x5:base3:k128:t4:b2",
        "4x5 array, base-3 weights, 4-byte words over two 2-byte bus beats (deserializer path)",
    ),
    (
        "kv260-base3",
        "64x5:base3:k8192:t16:b64",
        "KV260-class decode: 320 weights per cycle from one 64-byte base-3 word per beat",
    ),
    (
        "kv260-2bit",
        "64x4:2bit:k8192:t16:b64",
        "its 2-bit twin: 256 weights per cycle from one 64-byte word per beat",
    ),
];

/// Parses a preset name of [`ACCEL_PRESETS`] or a spec
/// `CxL:FORMAT:kKMAX:tTMAX:bBUS` (FORMAT `2bit` or `base3`; the fields
/// after the format in this order).
pub fn parse_accel(text: &str) -> Result<AccelConfig> {
    let t = text.trim();
    let spec = ACCEL_PRESETS.iter().find(|p| p.0 == t).map_or(t, |p| p.1);
    let bad = |message: String| Error::BadAccel {
        text: text.to_string(),
        message,
    };
    let expected = || {
        format!(
            "expected CxL:FORMAT:kKMAX:tTMAX:bBUS (e.g. 64x5:base3:k8192:t16:b64) or one of {}",
            ACCEL_PRESETS.map(|p| p.0).join(", ")
        )
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let [shape, format, k, t, b] = parts[..] else {
        return Err(bad(expected()));
    };
    let (c, l) = shape
        .split_once(['x', 'X'])
        .ok_or_else(|| bad(expected()))?;
    // A number after its prefix ("" for the shape).
    let num = |s: &str, prefix: &str| -> Result<usize> {
        s.strip_prefix(prefix)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(expected()))
    };
    let format: WeightFormat = format.parse().map_err(bad)?;
    let array = ArrayConfig::new(num(c, "")?, num(l, "")?, num(k, "k")?)?;
    Ok(AccelConfig::new(array, num(t, "t")?, num(b, "b")?, format)?)
}

/// The spec of `c` that [`parse_accel`] reads back (`WordBytes` is
/// derived, so a configuration with a hand-set `word_bytes` has none).
pub fn accel_spec(c: &AccelConfig) -> String {
    let a = &c.array;
    format!(
        "{}x{}:{}:k{}:t{}:b{}",
        a.cols, a.lanes, c.format, a.k_max, c.tokens, c.bus_bytes
    )
}

/// Short label for tables: the preset name if there is one, else the spec.
pub fn accel_label(c: &AccelConfig) -> String {
    let spec = accel_spec(c);
    ACCEL_PRESETS
        .iter()
        .find(|p| p.1 == spec && parse_accel(p.1).ok().as_ref() == Some(c))
        .map_or(spec, |p| p.0.to_string())
}

/// The configurations of the default sweep: every preset.
pub fn default_accels() -> Vec<AccelConfig> {
    ACCEL_PRESETS
        .iter()
        .map(|p| parse_accel(p.1).expect("valid preset"))
        .collect()
}

/// Bits of block RAM of an iCE40 HX8K: 32 SB_RAM40_4K of 4 Kbit.
pub const ICE40_HX8K_BRAM_BITS: usize = 32 * 4096;

/// Bits of the activation buffer (`ActDepth` words of `Lanes` int8).
pub fn act_buffer_bits(c: &AccelConfig) -> usize {
    c.act_depth() * c.array.lanes * 8
}

/// Whether `tri_accel` at `c` is synthesized for iCE40: only if its
/// activation buffer fits the block RAM of an HX8K (a larger buffer would
/// be built from flip-flops, which says nothing about any real part).
pub fn fits_ice40(c: &AccelConfig) -> bool {
    act_buffer_bits(c) <= ICE40_HX8K_BRAM_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_derive_word_bytes() {
        let all = default_accels();
        assert_eq!(all.len(), 4);
        // (cols, lanes, format, word bytes, sv params)
        let p = |c: &AccelConfig| {
            (
                c.array.cols,
                c.array.lanes,
                c.format,
                c.word_bytes,
                c.sv_params().map(|p| p.1),
            )
        };
        assert_eq!(
            p(&all[0]),
            (4, 5, WeightFormat::TwoBit, 5, [4, 5, 128, 4, 10, 0, 5])
        );
        assert_eq!(
            p(&all[1]),
            (4, 5, WeightFormat::Base3, 4, [4, 5, 128, 4, 2, 1, 4])
        );
        assert_eq!(
            p(&all[2]),
            (64, 5, WeightFormat::Base3, 64, [64, 5, 8192, 16, 64, 1, 64])
        );
        assert_eq!(
            p(&all[3]),
            (
                64,
                4,
                WeightFormat::TwoBit,
                64,
                [64, 4, 8192, 16, 64, 0, 64]
            )
        );
        for (c, preset) in all.iter().zip(ACCEL_PRESETS) {
            assert_eq!(accel_label(c), preset.0);
            assert_eq!(accel_spec(c), preset.1);
            assert_eq!(&parse_accel(preset.0).unwrap(), c);
        }
        // Only the small ones fit an iCE40's block RAM.
        let fits: Vec<bool> = all.iter().map(fits_ice40).collect();
        assert_eq!(fits, [true, true, false, false]);
        assert_eq!(act_buffer_bits(&all[2]), 16 * 1639 * 40);
    }

    #[test]
    fn specs_round_trip_and_bad_ones_are_errors() {
        let c = parse_accel(" 8x8:2bit:k1024:t2:b16 ").unwrap();
        assert_eq!(accel_label(&c), "8x8:2bit:k1024:t2:b16");
        assert_eq!(parse_accel(&accel_spec(&c)).unwrap(), c);
        for bad in [
            "",
            "kv260",
            "8x8:2bit:k1024:t2",
            "8x8:ternary:k1024:t2:b16",
            "8x8:2bit:1024:t2:b16",
            "8x8:2bit:k1024:b16:t2",
            "8:2bit:k1024:t2:b16",
            "8x8:2bit:k1024:t0:b16",
            "0x8:2bit:k1024:t2:b16",
        ] {
            assert!(parse_accel(bad).is_err(), "{bad}");
        }
        let e = parse_accel("8x8:2bit").unwrap_err().to_string();
        assert!(e.contains("kv260-base3"), "{e}");
    }
}
