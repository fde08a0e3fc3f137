use super::*;
use proptest::prelude::*;

/// A second IQ1_BN decoder written straight from ik_llama.cpp's
/// `dequantize_row_iq1_bn` description (digit of element `16g + 5i + j` is
/// read by multiplying byte `3g + i` by `3^(4 - j)` mod 256 and taking
/// `(v + (v >> 1)) >> 7`), independent of [`unpack_trit`] and of the
/// element table the codec uses.
fn reference_iq1bn_block(blk: &[u8]) -> Vec<i8> {
    const MULT: [u8; 5] = [81, 27, 9, 3, 1];
    let digit = |byte: u8, j: usize| {
        let v = byte.wrapping_mul(MULT[j]);
        ((u16::from(v) + u16::from(v >> 1)) >> 7) as i8 - 1
    };
    let mut out = Vec::with_capacity(64);
    for g in 0..4 {
        for i in 0..3 {
            for j in 0..5 {
                out.push(digit(blk[3 * g + i], j));
            }
        }
        out.push(digit(blk[12], g));
    }
    out
}

/// IQ2_BN from its description: element `e` of a block is byte `e % 16`,
/// bits `2 (e / 16) + 1 : 2 (e / 16)`.
fn reference_iq2bn_block(blk: &[u8]) -> Vec<i8> {
    (0..64)
        .map(|e| ((blk[e % 16] >> (2 * (e / 16))) & 3) as i8 - 1)
        .collect()
}

#[test]
fn iq2bn_layout_hand_worked() {
    // Row 0: element 17 = +1 (byte 1, bits 3:2 = code 2), element 48 = -1
    // (byte 0, bits 7:6 = code 0), the rest 0 (code 1 = 0b01 per pair).
    // Row 1: all zero, scale 0.
    let mut t = vec![0i8; 128];
    t[17] = 1;
    t[48] = -1;
    let b = iq2bn_encode(&t, 64, &[0.5, 0.0]).unwrap();
    assert_eq!(b.len(), 2 * (4 + 16));
    assert_eq!(&b[..4], &0.5f32.to_le_bytes());
    assert_eq!(b[4], 0b00_01_01_01);
    assert_eq!(b[5], 0b01_01_10_01);
    assert!(b[6..20].iter().all(|&x| x == 0x55));
    assert_eq!(&b[20..24], &0f32.to_le_bytes());
    assert!(b[24..].iter().all(|&x| x == 0x55));
    assert_eq!(iq2bn_decode(&b, 2, 64).unwrap(), (t, vec![0.5, 0.0]));
}

#[test]
fn iq1bn_layout_hand_worked() {
    // Element 0 = +1: digit of weight 3^0 in byte 0 is 2, the other four
    // digits 1 -> v = 2 + 3 + 9 + 27 + 81 = 122, stored ceil(122 * 256 / 243)
    // = 129. An all-zero group byte: v = 121 -> 128. The extra byte of an
    // all-zero block: digits 1 at weights 1, 3, 9, 27 and the unused fifth
    // digit 0: v = 40 -> 43. Element 31 (= 16 * 1 + 15: extra, weight 3^1)
    // = -1: v = 40 - 3 = 37 -> 39.
    let mut t = vec![0i8; 64];
    t[0] = 1;
    t[31] = -1;
    let b = iq1bn_encode(&t, 64, &[0x3C00]).unwrap();
    assert_eq!(b.len(), 2 + 13);
    assert_eq!(&b[..2], &0x3C00u16.to_le_bytes());
    assert_eq!(b[2], 129);
    assert!(b[3..14].iter().all(|&x| x == 128), "{b:?}");
    assert_eq!(b[14], 39);
    assert_eq!(iq1bn_decode(&b, 1, 64).unwrap(), (t, vec![0x3C00]));
}

#[test]
fn ik_digit_formula_agrees_with_unpack_trit_for_every_byte() {
    for byte in 0..=255u8 {
        let mut blk = [byte; 13];
        blk[12] = byte;
        let r = reference_iq1bn_block(&blk);
        let (t, _) = iq1bn_decode(&[[0u8, 0].as_slice(), &blk].concat(), 1, 64).unwrap();
        assert_eq!(t, r, "byte {byte}");
    }
}

#[test]
fn size_errors_name_the_problem() {
    let t = vec![0i8; 128];
    let b2 = iq2bn_encode(&t, 128, &[1.0]).unwrap();
    let b1 = iq1bn_encode(&t, 128, &[0x3C00]).unwrap();
    assert_eq!((b2.len(), b1.len()), (4 + 32, 2 + 26));
    for bad in [&b2[..b2.len() - 1], &[b2.as_slice(), &[0]].concat()[..]] {
        let e = iq2bn_decode(bad, 1, 128).unwrap_err();
        assert!(
            e.contains("needs 36 bytes") && e.contains("truncated"),
            "{e}"
        );
    }
    for bad in [&b1[..b1.len() - 1], &[b1.as_slice(), &[0]].concat()[..]] {
        let e = iq1bn_decode(bad, 1, 128).unwrap_err();
        assert!(e.contains("needs 28 bytes"), "{e}");
    }
    // Wrong row count for the bytes.
    assert!(iq2bn_decode(&b2, 2, 128).is_err());
    // K not whole blocks, on both sides.
    for k in [0, 32, 96] {
        assert!(iq2bn_decode(&[], 0, k)
            .unwrap_err()
            .contains("multiple of 64"));
        assert!(iq1bn_encode(&vec![0; k], k, &[0])
            .unwrap_err()
            .contains("multiple of 64"));
    }
    assert!(iq2bn_encode(&t, 64, &[1.0])
        .unwrap_err()
        .contains("not 1 rows of 64"));
    let mut nt = t.clone();
    nt[5] = 2;
    assert!(iq2bn_encode(&nt, 128, &[1.0])
        .unwrap_err()
        .contains("not ternary"));
    assert!(iq1bn_encode(&nt, 128, &[0])
        .unwrap_err()
        .contains("not ternary"));
}

#[test]
fn iq2bn_code_3_is_an_error_naming_row_and_element() {
    let t = vec![0i8; 128];
    let mut b = iq2bn_encode(&t, 64, &[1.0, 1.0]).unwrap();
    // Row 1 (starts at byte 20), block byte 3, bits 5:4 -> element 35.
    b[20 + 4 + 3] = 0b01_11_01_01;
    let e = iq2bn_decode(&b, 2, 64).unwrap_err();
    assert!(e.contains("row 1, element 35"), "{e}");
}

#[test]
fn row_scales_common_and_mismatched() {
    let mut t = vec![0i8; 3 * 64];
    t[0] = 1;
    t[2 * 64 + 7] = -1;
    // Row 1 is all zero: its scale is ignored.
    assert_eq!(common_row_scale(&t, 64, &[0.25, 9.0, 0.25]), Ok(0.25));
    let e = common_row_scale(&t, 64, &[0.25, 0.25, 0.5]).unwrap_err();
    assert!(
        e.contains("rows 0 and 2") && e.contains("one gamma per tensor"),
        "{e}"
    );
    // -0.0 and 0.0 differ bit for bit; a NaN never equals another scale.
    assert!(common_row_scale(&t, 64, &[0.0, 0.0, -0.0]).is_err());
    assert_eq!(common_row_scale(&[0; 128], 64, &[3.0, 4.0]), Ok(1.0));
    assert_eq!(row_scales(&t, 64, 0.25f32, 0.0), vec![0.25, 0.0, 0.25]);
    assert_eq!(widen_f16(&[0x3C00, 0x3800]), vec![1.0, 0.5]);
}

fn ternary(n: usize) -> impl Strategy<Value = Vec<i8>> {
    proptest::collection::vec(-1i8..=1, n)
}

/// (rows, k, values).
fn matrix() -> impl Strategy<Value = (usize, usize, Vec<i8>)> {
    (1usize..4, 1usize..5).prop_flat_map(|(rows, blocks)| {
        let k = blocks * 64;
        (Just(rows), Just(k), ternary(rows * k))
    })
}

proptest! {
    #[test]
    fn iq2bn_round_trip((rows, k, t) in matrix(), s in any::<f32>()) {
        let scales: Vec<f32> = (0..rows).map(|r| s * r as f32).collect();
        let b = iq2bn_encode(&t, k, &scales).unwrap();
        prop_assert_eq!(b.len(), rows * (4 + k / 4));
        let (t2, s2) = iq2bn_decode(&b, rows, k).unwrap();
        prop_assert_eq!(t2, t);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&s2), bits(&scales));
    }

    #[test]
    fn iq1bn_round_trip((rows, k, t) in matrix(), d in any::<u16>()) {
        let scales: Vec<u16> = (0..rows).map(|r| d.wrapping_add(r as u16)).collect();
        let b = iq1bn_encode(&t, k, &scales).unwrap();
        prop_assert_eq!(b.len(), rows * (2 + k / 64 * 13));
        prop_assert_eq!(iq1bn_decode(&b, rows, k).unwrap(), (t, scales));
    }

    #[test]
    fn iq1bn_any_bytes_decode_as_ik_llama_does(blk in proptest::collection::vec(any::<u8>(), 13)) {
        let row = [[0x00u8, 0x3C].as_slice(), &blk].concat();
        let (t, s) = iq1bn_decode(&row, 1, 64).unwrap();
        prop_assert_eq!(s, vec![0x3C00]);
        prop_assert_eq!(t, reference_iq1bn_block(&blk));
    }

    #[test]
    fn iq2bn_any_bytes_decode_or_name_code_3(blk in proptest::collection::vec(any::<u8>(), 16)) {
        let row = [1f32.to_le_bytes().as_slice(), &blk].concat();
        let has3 = blk.iter().any(|&b| (0..4).any(|q| (b >> (2 * q)) & 3 == 3));
        match iq2bn_decode(&row, 1, 64) {
            Ok((t, _)) => {
                prop_assert!(!has3);
                prop_assert_eq!(t, reference_iq2bn_block(&blk));
            }
            Err(e) => {
                // Named at the first element (in element order) with code 3.
                let first = (0..64).find(|e| (blk[e % 16] >> (2 * (e / 16))) & 3 == 3);
                prop_assert!(has3 && e.contains("code 3"), "{}", e);
                let at = format!("element {} ", first.unwrap_or(usize::MAX));
                prop_assert!(e.contains(&at), "{}", e);
            }
        }
    }
}

#[test]
fn type_ids_and_row_sizes() {
    use super::super::GgmlType;
    assert_eq!(GgmlType::from_id(134, false), Ok(GgmlType::IQ1_BN));
    assert_eq!(GgmlType::from_id(135, true), Ok(GgmlType::IQ2_BN));
    assert_eq!((GgmlType::IQ1_BN.id(), GgmlType::IQ2_BN.id()), (134, 135));
    for other in [133, 136, 335] {
        let e = GgmlType::from_id(other, true).unwrap_err();
        assert!(
            e.contains("ik_llama.cpp") && e.contains("not supported"),
            "{e}"
        );
    }
    // rows x (row scale + K / 64 blocks).
    assert_eq!(
        GgmlType::IQ2_BN.data_size(3 * 256, 256),
        Ok(3 * (4 + 4 * 16))
    );
    assert_eq!(
        GgmlType::IQ1_BN.data_size(2 * 128, 128),
        Ok(2 * (2 + 2 * 13))
    );
    let e = GgmlType::IQ1_BN.data_size(96, 96).unwrap_err();
    assert!(e.contains("multiple of 64"), "{e}");
    // The largest element count: rows x 20 bytes still fits in a u64 (no
    // wrap-around), and the parser then finds it past the end of the file.
    let n = u64::MAX / 64 * 64;
    assert_eq!(GgmlType::IQ2_BN.data_size(n, 64), Ok(n / 64 * 20));
}
