//! report.md's sections on the accelerator: the ternary variants on
//! tri_accel, the co-simulation check, the published-design comparison.

use std::fmt::Write as _;

use tritium_golden::AccelConfig;

use crate::count::Variant;
use crate::report::{CosimCheck, PublishedComparison, Report};

/// An accelerator configuration in a few words.
pub(crate) fn accel_words(a: &AccelConfig) -> String {
    format!(
        "{}x{} {} ({}-byte words on a {}-byte port, {} token rows, KMax {})",
        a.array.cols, a.array.lanes, a.format, a.word_bytes, a.bus_bytes, a.tokens, a.array.k_max
    )
}

fn label(v: Variant) -> &'static str {
    v.label()
}

/// "## Accelerator": per ternary variant and phase, and the decoder.
pub(crate) fn accelerator(s: &mut String, r: &Report) {
    let a = &r.accelerator;
    let o = &r.options;
    let _ = writeln!(s, "## Accelerator (tri_accel)\n");
    let _ = writeln!(
        s,
        "The BitLinears alone on the accelerator, per token: cycles at {} MHz, the tokens per second they would allow if nothing else ran (tokens/s equivalent), DRAM weight bytes, and the memory floor (DRAM bytes over the memory's bytes per cycle) as a fraction of the cycles. Prefill runs the {}-token prompt in jobs of {} rows: each weight word fetched serves every row of a job.\n",
        o.clock_mhz, o.workload.prompt_tokens, o.accel.batch
    );
    let _ = writeln!(
        s,
        "| variant | phase | cycles/token | tokens/s equivalent | DRAM MB/token | memory floor | source |\n|---|---|---:|---:|---:|---:|---|"
    );
    for row in &a.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.1}% | {} |",
            label(row.variant),
            row.phase,
            row.cycles_per_token,
            row.bitlinear_tokens_per_second,
            row.dram_bytes_per_token * 1e-6,
            100.0 * row.memory_floor_fraction,
            if row.measured {
                "RTL co-simulation"
            } else {
                "analytic model"
            }
        );
    }
    let _ = writeln!(
        s,
        "\nBase-3 (5 weights per byte) reads {:.1}% fewer DRAM bytes per decoded token than 2-bit on the same bus ({:.3}x).\n",
        100.0 * (1.0 - a.base3_over_2bit_dram_bytes),
        a.base3_over_2bit_dram_bytes
    );
    let _ = writeln!(
        s,
        "Base-3 decoder energy: {} pJ per decoded byte; {}.\n",
        a.synth.decoder.pj_per_byte, a.synth.decoder.source
    );
    let mut areas = Vec::new();
    for u in &a.synth.units {
        let of = match &u.accel {
            Some(c) if u.module != "int8_pe" => format!(" of {}", accel_words(c)),
            Some(_) => continue,
            None if u.module == "tri_dec_base3" => " (one byte)".to_string(),
            None => continue,
        };
        let area = u
            .cell_area_um2
            .map_or(String::new(), |x| format!(", {x:.0} um^2"));
        areas.push(format!(
            "{}{of} on {}: {} {}, {} FFs, {} DSPs{area}",
            u.module,
            u.family,
            u.luts,
            logic_cells(&u.family),
            u.ffs,
            u.dsp
        ));
    }
    if areas.is_empty() {
        let _ = writeln!(
            s,
            "Area of the decoder and the accelerator: not in the FPGA results{} yet (the FPGA flow has not synthesized tri_dec_base3, tri_wdec or tri_accel).\n",
            a.synth
                .file
                .as_deref()
                .map_or(String::new(), |f| format!(" ({f})"))
        );
    } else {
        let _ = writeln!(
            s,
            "Synthesized (from {}):\n",
            a.synth.file.as_deref().unwrap_or("?")
        );
        for x in areas {
            let _ = writeln!(s, "- {x}");
        }
        let _ = writeln!(s);
    }
}

/// "## Co-simulation": the files and the model check.
pub(crate) fn cosim(s: &mut String, cc: &CosimCheck) {
    let _ = writeln!(s, "## Co-simulation against the analytic model\n");
    let _ = writeln!(
        s,
        "Accelerator {} ({}), {} token rows per job, memory {} B/cycle with {} cycles of latency, {} MHz. Layers run on the RTL: {:?}; every other layer takes the measured figures of the same projection (same shape; the accelerator's timing does not depend on the weights' values). RTL-counted zero fraction {:.1}%.\n",
        cc.accel_name, accel_words(&cc.accel), cc.batch, cc.mem_bytes_per_cycle, cc.mem_latency, cc.clock_mhz,
        cc.measured_layers, 100.0 * cc.measured_zero_fraction
    );
    let _ = writeln!(
        s,
        "| file | kind | prompt | decode steps | wall s |\n|---|---|---:|---:|---:|"
    );
    for f in &cc.files {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.0} |",
            f.file, f.kind, f.prompt_tokens, f.decode_steps, f.wall_seconds
        );
    }
    let _ = writeln!(
        s,
        "\nMeasured / analytic cycles over all rows: {:.5}; largest error of a row {:.3}%; DRAM bytes and buffer reads and writes {}.\n",
        cc.measured_over_analytic,
        100.0 * cc.max_cycle_error,
        if cc.counts_equal {
            "equal to the model's in every row"
        } else {
            "DIFFER from the model's (see the rows)"
        }
    );
    let _ = writeln!(
        s,
        "| file | layer | proj | N x K | calls | rows | RTL cycles | model cycles | error | DRAM bytes | buffer reads / writes |\n|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|"
    );
    for r in &cc.rows {
        let eq = |a: u64, b: u64| {
            if a == b {
                format!("{a}")
            } else {
                format!("{a} (model {b})")
            }
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} x {} | {} | {} | {} | {} | {:+.3}% | {} | {} / {} |",
            r.file,
            r.layer,
            r.proj,
            r.n,
            r.k,
            r.calls,
            r.token_rows,
            r.measured_cycles,
            r.analytic_cycles,
            100.0 * r.cycle_error(),
            eq(r.measured_dram_bytes, r.analytic_dram_bytes),
            eq(r.measured_buffer_reads, r.analytic_buffer_reads),
            eq(r.measured_buffer_writes, r.analytic_buffer_writes)
        );
    }
    let _ = writeln!(s);
}

/// "## Against ..." the published design, side by side.
pub(crate) fn published(s: &mut String, c: &PublishedComparison) {
    let p = &c.published;
    let _ = writeln!(s, "## Against the {}\n", p.name);
    let _ = writeln!(
        s,
        "Theirs: {} ({}). Ours: {}. The two are not the same measurement: theirs is a whole model on a board, ours the BitLinears' cycles of one engine of this RTL at a modelled memory; ours is what the BitLinears would allow, an upper bound on a system's tokens/s.\n",
        p.includes, p.source, c.includes
    );
    let opt = |x: Option<u64>| x.map_or("not synthesized yet".to_string(), |v| v.to_string());
    let fam = c
        .luts_family
        .as_deref()
        .map_or(String::new(), |f| format!(" ({f})"));
    let _ = writeln!(
        s,
        "| | {} | tritium ({}) |\n|---|---:|---:|",
        p.name,
        label(c.variant)
    );
    let rows: Vec<(&str, String, String)> = vec![
        (
            "decode tokens/s",
            format!("{:.2} (whole model)", p.decode_tokens_per_second),
            format!("{:.2} (BitLinears, equivalent)", c.bitlinear_decode_tokens_per_second),
        ),
        (
            "decode tokens/s, whole model",
            format!("{:.2} (measured on the board)", p.decode_tokens_per_second),
            format!(
                "{:.2} (this report's latency model: + attention, KV cache and a {}-bit LM head at the memory bandwidth)",
                c.model_decode_tokens_per_second, c.head_bits
            ),
        ),
        (
            "prefill tokens/s",
            "-".into(),
            format!("{:.2} (BitLinears, equivalent)", c.bitlinear_prefill_tokens_per_second),
        ),
        (
            "decode: memory floor / cycles",
            "-".into(),
            format!("{:.1}%", 100.0 * c.decode_memory_floor_fraction),
        ),
        ("clock", format!("{} MHz", p.clock_mhz), format!("{} MHz (assumed)", c.clock_mhz)),
        ("weight port", p.engines.clone(), format!("one engine, {:.1} GB/s peak", c.peak_gbs)),
        (
            "weight bandwidth achieved",
            format!("{} GB/s", p.achieved_gbs),
            format!("{:.2} GB/s", c.achieved_gbs),
        ),
        (
            "weight bytes per token",
            format!("{:.1} MB", p.weight_bytes_per_token * 1e-6),
            format!("{:.1} MB", c.weight_bytes_per_token * 1e-6),
        ),
        ("weight packing", p.weight_packing.clone(), label(c.variant).into()),
        ("LUTs", p.luts.to_string(), format!("{}{fam}", opt(c.luts))),
        (
            "DSPs",
            p.dsps.to_string(),
            match c.dsps {
                Some(d) => format!("{d}{fam}"),
                None => "not synthesized yet (the RTL has no multiplier: rtl/lint.sh checks)".into(),
            },
        ),
        (
            "energy per token",
            format!("{} J at the board", p.joules_per_token),
            format!(
                "{:.4} J (this report's chip-level estimate of the whole model; no board, host or DRAM interface power)",
                c.model_joules_per_token
            ),
        ),
    ];
    for (what, theirs, ours) in rows {
        let _ = writeln!(s, "| {what} | {theirs} | {ours} |");
    }
    let _ = writeln!(s);
}

/// What the logic count of a synthesis family counts: Yosys's generic gates
/// (`synth` without a technology), standard cells, or LUTs of an FPGA.
fn logic_cells(family: &str) -> &'static str {
    match family {
        "generic" => "generic gates",
        "asic" => "standard cells",
        _ => "LUTs",
    }
}
