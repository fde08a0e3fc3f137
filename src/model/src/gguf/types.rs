//! ggml tensor type ids and the byte size of a tensor of each type (see
//! the [module docs](super) for the ids that collide between forks).

/// Size of a 256-element TQ block: TQ1_0, TQ2_0.
pub const TQ1_BLOCK: usize = 54;
pub const TQ2_BLOCK: usize = 66;
/// Weights per block of both ik_llama.cpp BN formats (`QK_IQ1BN`).
pub const BLOCK_ELEMS: usize = 64;
/// Bytes of an IQ1_BN block (`ql[12]` + `extra`).
pub const IQ1BN_BLOCK: usize = 13;
/// Bytes of an IQ2_BN block (`qs[16]`).
pub const IQ2BN_BLOCK: usize = 16;
/// Bytes of the row scale before the blocks: fp16 (IQ1_BN), f32 (IQ2_BN).
pub const IQ1BN_ROW_META: usize = 2;
pub const IQ2BN_ROW_META: usize = 4;

/// The tensor types tritium reads (see the module docs for ids).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q8_0,
    Q6_K,
    BF16,
    TQ1_0,
    TQ2_0,
    /// bitnet.cpp's I2_S (id 36 in its ggml fork).
    I2_S,
    /// ik_llama.cpp's IQ1_BN (id 134): per row an fp16 scale, then 13-byte
    /// blocks of 64 base-3 packed weights ([`super::iqbn`]).
    IQ1_BN,
    /// ik_llama.cpp's IQ2_BN (id 135): per row an f32 scale, then 16-byte
    /// blocks of 64 2-bit weights ([`super::iqbn`]).
    IQ2_BN,
}

// Block sizes from their parts (ggml-common.h): Q8_0 = 32 int8 + fp16 d;
// Q6_K = 128 bytes of low nibbles + 64 of high bits + 16 int8 sub-block
// scales + fp16 d; I2_S = 128 codes of 2 bits (its f32 scale follows the
// whole tensor, not each block).
const _: () = assert!(GgmlType::Q8_0.block_bytes() == 32 + 2);
const _: () = assert!(GgmlType::Q6_K.block_bytes() == 256 / 2 + 256 / 4 + 256 / 16 + 2);
const _: () = assert!(GgmlType::I2_S.block_bytes() == 128 * 2 / 8);
// IQ1_BN = 60 weights 5 per byte + 4 weights in one more byte; IQ2_BN = 64
// weights 4 per byte (ik_llama.cpp ggml-common.h `block_iq1_bn`/`block_iq2_bn`).
const _: () = assert!(GgmlType::IQ1_BN.block_bytes() == 60 / 5 + 1);
const _: () = assert!(GgmlType::IQ2_BN.block_bytes() == 64 * 2 / 8);

impl GgmlType {
    /// The type id stored in the file.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q8_0 => 8,
            GgmlType::Q6_K => 14,
            GgmlType::BF16 => 30,
            GgmlType::TQ1_0 => 34,
            GgmlType::TQ2_0 => 35,
            GgmlType::I2_S => 36,
            GgmlType::IQ1_BN => 134,
            GgmlType::IQ2_BN => 135,
        }
    }

    /// The name ggml prints.
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q6_K => "Q6_K",
            GgmlType::BF16 => "BF16",
            GgmlType::TQ1_0 => "TQ1_0",
            GgmlType::TQ2_0 => "TQ2_0",
            GgmlType::I2_S => "I2_S",
            GgmlType::IQ1_BN => "IQ1_BN",
            GgmlType::IQ2_BN => "IQ2_BN",
        }
    }

    /// Elements per block along the first dimension (`ne0`).
    pub fn block_elems(self) -> u64 {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q8_0 => 32,
            GgmlType::Q6_K | GgmlType::TQ1_0 | GgmlType::TQ2_0 => 256,
            // I2_S blocks run over the flattened tensor, not per row.
            GgmlType::I2_S => 128,
            GgmlType::IQ1_BN | GgmlType::IQ2_BN => BLOCK_ELEMS as u64,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> u64 {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q8_0 => 34,
            GgmlType::Q6_K => 210,
            GgmlType::TQ1_0 => TQ1_BLOCK as u64,
            GgmlType::TQ2_0 => TQ2_BLOCK as u64,
            GgmlType::I2_S => 32,
            GgmlType::IQ1_BN => IQ1BN_BLOCK as u64,
            GgmlType::IQ2_BN => IQ2BN_BLOCK as u64,
        }
    }

    /// The type of id `id`, or a message saying why it cannot be read.
    /// `bitnet` says whether the file's architecture is a BitNet one.
    pub fn from_id(id: u32, bitnet: bool) -> std::result::Result<GgmlType, String> {
        Ok(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            8 => GgmlType::Q8_0,
            14 => GgmlType::Q6_K,
            30 => GgmlType::BF16,
            34 => GgmlType::TQ1_0,
            35 => GgmlType::TQ2_0,
            36 if bitnet => GgmlType::I2_S,
            // ik_llama.cpp numbers its own types from 133 up, clear of
            // upstream ggml's and bitnet.cpp's ids.
            134 => GgmlType::IQ1_BN,
            135 => GgmlType::IQ2_BN,
            36 => {
                return Err("type id 36 is I2_S only in bitnet.cpp's ggml fork (upstream ggml used it for the removed IQ4_NL_4_4); this file's architecture is not a BitNet one, so it is not read".into())
            }
            37 => return Err("type id 37 (bitnet.cpp I8_S, an activation type; removed IQ4_NL_4_8 upstream) is not supported".into()),
            38 => return Err("type id 38 (bitnet.cpp TL1 lookup-table layout; removed IQ4_NL_8_8 upstream) is not supported: convert the model to I2_S or TQ2_0".into()),
            39 => return Err("type id 39 (bitnet.cpp TL2 lookup-table layout, or MXFP4 in upstream ggml) is not supported: convert the model to I2_S or TQ2_0".into()),
            _ => {
                let name = match id {
                    2 => "Q4_0",
                    3 => "Q4_1",
                    6 => "Q5_0",
                    7 => "Q5_1",
                    9 => "Q8_1",
                    10 => "Q2_K",
                    11 => "Q3_K",
                    12 => "Q4_K",
                    13 => "Q5_K",
                    15 => "Q8_K",
                    16..=23 | 29 => "an IQ type",
                    24 => "I8",
                    25 => "I16",
                    26 => "I32",
                    27 => "I64",
                    28 => "F64",
                    133 | 136..=151 | 202..=399 => "an ik_llama.cpp type",
                    _ => return Err(format!("unknown ggml type id {id}")),
                };
                return Err(format!(
                    "ggml type {name} (id {id}) is not supported (tritium reads I2_S, TQ1_0, TQ2_0, IQ1_BN, IQ2_BN, F32, F16, BF16, and Q8_0/Q6_K embeddings)"
                ));
            }
        })
    }

    /// Bytes stored at the start of every row before its blocks (ik_llama.cpp's
    /// `row_meta_size`: the row scale), for the types that have them.
    pub const fn row_meta_bytes(self) -> Option<u64> {
        match self {
            GgmlType::IQ1_BN => Some(2),
            GgmlType::IQ2_BN => Some(4),
            _ => None,
        }
    }

    /// Bytes of a tensor of `n` elements whose first dimension is `ne0`,
    /// or a message if the shape does not fit the type's blocks.
    pub fn data_size(self, n: u64, ne0: u64) -> std::result::Result<u64, String> {
        let blk = self.block_elems();
        if self == GgmlType::I2_S {
            if !n.is_multiple_of(blk) {
                return Err(format!(
                    "I2_S needs a multiple of {blk} elements, the tensor has {n}"
                ));
            }
            // Packed codes, then one f32 scale padded to 32 bytes.
            return (n / 4)
                .checked_add(32)
                .ok_or_else(|| "size overflows".into());
        }
        if let Some(meta) = self.row_meta_bytes() {
            // ik_llama.cpp's row layout: the row scale, then the row's blocks.
            if !ne0.is_multiple_of(blk) {
                return Err(format!(
                    "{} needs the first dimension to be a multiple of {blk}, it is {ne0}",
                    self.name()
                ));
            }
            let rows = n.checked_div(ne0).ok_or("first dimension is 0")?;
            return (ne0 / blk)
                .checked_mul(self.block_bytes())
                .and_then(|b| b.checked_add(meta))
                .and_then(|row| row.checked_mul(rows))
                .ok_or_else(|| "size overflows".into());
        }
        if !ne0.is_multiple_of(blk) {
            return Err(format!(
                "{} needs the first dimension to be a multiple of {blk}, it is {ne0}",
                self.name()
            ));
        }
        (n / blk)
            .checked_mul(self.block_bytes())
            .ok_or_else(|| "size overflows".into())
    }
}
