//! GGUF token-embedding and output-head dequantization (Q8_0, Q6_K, F16,
//! BF16) through the public loader, against the `gguf` Python package's own
//! `gguf.quants.dequantize` on files its `GGUFWriter` wrote
//! (tests/vectors/gguf/, by make_f32_vectors.py). Bitwise: every one of
//! these dequantizations is one exact product or a single f32 rounding of
//! one (Q6_K: `d * scale` and its product with the 6-bit code are both
//! exact, whichever order), so any difference is a layout bug, not rounding.
//!
//! The loader keeps Q8_0 and Q6_K as stored blocks; each backend's head
//! over them (the SIMD engine's in-register decode included) gives the
//! golden logits of the gguf package's f32 values, bitwise.

mod support;

use serde::Deserialize;
use support::backends::backends;

#[derive(Deserialize)]
struct Expected {
    files: Vec<File>,
}

#[derive(Deserialize)]
struct File {
    file: String,
    vocab: usize,
    hidden: usize,
    tensors: Vec<Tensor>,
}

#[derive(Deserialize)]
struct Tensor {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    values: Vec<f32>,
}

#[test]
fn embeddings_and_heads_dequantize_as_the_gguf_package() {
    let dir = format!("{}/tests/vectors/gguf", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(format!("{dir}/expected.json")).unwrap();
    let e: Expected = serde_json::from_str(&text).unwrap();
    let mut types: Vec<&str> = e
        .files
        .iter()
        .flat_map(|f| f.tensors.iter().map(|t| t.ty.as_str()))
        .collect();
    types.sort();
    assert_eq!(types, ["BF16", "F16", "Q6_K", "Q8_0"]);
    use tritium_golden::Backend;
    for f in &e.files {
        let path = std::path::Path::new(&dir).join(&f.file);
        let loaded =
            tritium_model::load(&path, None).unwrap_or_else(|err| panic!("{}: {err}", f.file));
        let m = &loaded.model;
        for t in &f.tensors {
            let dense = match t.name.as_str() {
                "token_embd.weight" => m.embed(),
                "output.weight" => m.lm_head().expect("an untied head"),
                n => panic!("unexpected tensor {n}"),
            };
            assert_eq!(
                (dense.rows(), dense.cols()),
                (f.vocab, f.hidden),
                "{} {}",
                f.file,
                t.name
            );
            // Logits over the stored type on every backend == the golden
            // logits of the package's f32 values.
            let wide = tritium_golden::DenseMatrix::from_f32(
                "wide",
                f.vocab,
                f.hidden,
                t.values[..f.vocab * f.hidden].to_vec(),
            )
            .unwrap();
            let x: Vec<f32> = (0..f.hidden)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.0123)
                .collect();
            let mut want = vec![0f32; f.vocab];
            tritium_golden::GoldenBackend
                .logits(&wide, &x, &mut want)
                .unwrap();
            for mut b in backends() {
                let mut got = vec![0f32; f.vocab];
                b.logits(dense, &x, &mut got).unwrap();
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "{} {} ({}) on {}",
                    f.file,
                    t.name,
                    t.ty,
                    b.name()
                );
            }
            let mut row = vec![0.0f32; f.hidden];
            for r in 0..f.vocab {
                dense.row_into(r, &mut row);
                for (c, (&got, &want)) in row.iter().zip(&t.values[r * f.hidden..]).enumerate() {
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{} {} ({}) row {r} col {c} (block {}): tritium {got} vs gguf {want}",
                        f.file,
                        t.name,
                        t.ty,
                        c / if t.ty == "Q6_K" { 256 } else { 32 }
                    );
                }
            }
        }
    }
}
