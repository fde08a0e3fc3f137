//! GGUF files: the format bitnet.cpp and llama.cpp users already have.
//!
//! - [`GgufFile`] parses GGUF version 3 (header, typed metadata incl.
//!   nested arrays, tensor infos, `general.alignment`, the aligned data
//!   section) from a memory map or from bytes. Every count, length and
//!   offset is checked with checked arithmetic against the bytes that are
//!   really there before anything is allocated, so a truncated or corrupt
//!   file is an [`Error::Gguf`] naming the key or tensor, never a panic and
//!   never an allocation sized by an untrusted header field.
//! - [`quants`]: the block codecs (bitnet.cpp I2_S, llama.cpp TQ1_0 and
//!   TQ2_0, F32/F16/BF16, Q8_0 and Q6_K for embeddings); [`iqbn`]:
//!   ik_llama.cpp's row-scaled IQ2_BN and IQ1_BN; [`GgmlType`]: ids and sizes.
//! - [`load`]: GGUF tensors and metadata -> the golden [`tritium_golden::Model`]
//!   (the same [`crate::LoadedModel`] a checkpoint directory gives);
//!   [`vocab`]: the tokenizer from `tokenizer.ggml.*` and back.
//! - [`writer`]: a generic GGUF writer; [`export`]: a golden model as a
//!   BitNet GGUF file (`gen-model --format gguf-*`, `convert`).
//!
//! # Type ids and the bitnet.cpp collision
//! bitnet.cpp's ggml fork numbers its own types I2_S = 36, I8_S = 37,
//! TL1 = 38, TL2 = 39. Upstream ggml used 36..38 for since-removed
//! interleaved IQ4_NL variants and uses 39 for MXFP4. tritium reads id 36
//! as I2_S only when `general.architecture` is a BitNet one (`bitnet-b1.58`,
//! `bitnet-25`, `bitnet`) and the tensor's byte size then matches I2_S's
//! (`n / 4 + 32`, checked like every size); ids 37..39 are a clear
//! "not supported" error naming both meanings. ik_llama.cpp numbers its
//! own types from 133 up (IQ1_BN = 134, IQ2_BN = 135, read in any
//! architecture; its other ids are a "not supported" error).

pub mod export;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod iqbn;
pub mod load;
pub mod quants;
mod types;
pub mod vocab;
pub mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use tritium_util::AtPath;

pub use types::GgmlType;

/// `GGUF` read as a little-endian u32.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// The only version tritium reads and writes.
pub const VERSION: u32 = 3;
/// Alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Architecture names whose files may hold bitnet.cpp's I2_S (type id 36).
pub const BITNET_ARCHS: [&str; 3] = ["bitnet-b1.58", "bitnet-25", "bitnet"];

/// Maximum nesting of metadata arrays (real files use one level).
const MAX_ARRAY_DEPTH: usize = 3;
/// ggml tensors have at most 4 dimensions.
const MAX_DIMS: u32 = 4;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    /// Element type id and the elements.
    Array(u32, Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

/// A value as a user reads it in a message: its GGUF type and its value
/// (`a u64 18446744073709551615`, `a string "gpt2"`, `an array of 3 u32`).
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::U8(x) => write!(f, "a u8 {x}"),
            Value::I8(x) => write!(f, "an i8 {x}"),
            Value::U16(x) => write!(f, "a u16 {x}"),
            Value::I16(x) => write!(f, "an i16 {x}"),
            Value::U32(x) => write!(f, "a u32 {x}"),
            Value::I32(x) => write!(f, "an i32 {x}"),
            Value::F32(x) => write!(f, "an f32 {x}"),
            Value::Bool(x) => write!(f, "a bool {x}"),
            Value::Str(s) => write!(f, "a string {s:?}"),
            Value::Array(t, items) => write!(
                f,
                "an array of {} {}",
                items.len(),
                type_name(*t).unwrap_or("values of an unknown type")
            ),
            Value::U64(x) => write!(f, "a u64 {x}"),
            Value::I64(x) => write!(f, "an i64 {x}"),
            Value::F64(x) => write!(f, "an f64 {x}"),
        }
    }
}

/// The name of GGUF value type `t`.
fn type_name(t: u32) -> Option<&'static str> {
    const NAMES: [&str; 13] = [
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64",
        "f64",
    ];
    NAMES.get(t as usize).copied()
}

impl Value {
    /// The GGUF value type id.
    pub fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::Str(_) => 8,
            Value::Array(..) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    /// Any integer value that is not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Any integer value.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// A float (f32 or f64) value.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(_, v) => Some(v),
            _ => None,
        }
    }
}

/// One tensor's header entry, already checked against the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the innermost (row length).
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Offset from the start of the data section.
    pub offset: u64,
    /// Bytes of data.
    pub size: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// The parsed header of a GGUF file.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_start: u64,
    index: HashMap<String, usize>,
    meta_index: HashMap<String, usize>,
}

impl Header {
    /// The metadata value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }
    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.index.get(name).map(|&i| &self.tensors[i])
    }
    /// `general.architecture`, if present.
    pub fn architecture(&self) -> Option<&str> {
        self.get("general.architecture").and_then(Value::as_str)
    }
}

/// A bounds-checked little-endian reader.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }
    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> std::result::Result<&'a [u8], String> {
        let n = usize::try_from(n).map_err(|_| format!("{}: length {n} too large", what()))?;
        if n > self.remaining() {
            return Err(format!(
                "{}: needs {n} bytes at offset {}, only {} left (truncated file?)",
                what(),
                self.pos,
                self.remaining()
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn arr<const N: usize>(
        &mut self,
        what: &dyn Fn() -> String,
    ) -> std::result::Result<[u8; N], String> {
        let s = self.take(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u32(&mut self, what: &dyn Fn() -> String) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    fn u64(&mut self, what: &dyn Fn() -> String) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.arr(what)?))
    }
    fn bytes_str(&mut self, what: &dyn Fn() -> String) -> std::result::Result<&'a [u8], String> {
        let n = self.u64(what)?;
        self.take(n, what)
    }
    /// A string that must be UTF-8 (keys and tensor names).
    fn string(&mut self, what: &dyn Fn() -> String) -> std::result::Result<String, String> {
        let b = self.bytes_str(what)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("{}: not valid UTF-8", what()))
    }
}

/// Smallest encoded size of a value of type `t` (bounds array lengths).
fn min_size(t: u32) -> Option<usize> {
    Some(match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 12,
        _ => return None,
    })
}

fn read_value(
    c: &mut Cursor,
    t: u32,
    depth: usize,
    what: &dyn Fn() -> String,
) -> std::result::Result<Value, String> {
    Ok(match t {
        0 => Value::U8(c.arr::<1>(what)?[0]),
        1 => Value::I8(c.arr::<1>(what)?[0] as i8),
        2 => Value::U16(u16::from_le_bytes(c.arr(what)?)),
        3 => Value::I16(i16::from_le_bytes(c.arr(what)?)),
        4 => Value::U32(c.u32(what)?),
        5 => Value::I32(i32::from_le_bytes(c.arr(what)?)),
        6 => Value::F32(f32::from_le_bytes(c.arr(what)?)),
        7 => match c.arr::<1>(what)?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => return Err(format!("{}: bool byte {b} (must be 0 or 1)", what())),
        },
        // Values are read lossily: some tokenizers hold byte tokens that are
        // not UTF-8 on their own.
        8 => Value::Str(String::from_utf8_lossy(c.bytes_str(what)?).into_owned()),
        9 => {
            if depth >= MAX_ARRAY_DEPTH {
                return Err(format!(
                    "{}: arrays nested deeper than {MAX_ARRAY_DEPTH}",
                    what()
                ));
            }
            let et = c.u32(what)?;
            let min = min_size(et)
                .ok_or_else(|| format!("{}: unknown array element type {et}", what()))?;
            let n = c.u64(what)?;
            // Every element takes at least `min` bytes: a count the file
            // cannot hold is an error before anything is allocated.
            if n > (c.remaining() / min) as u64 {
                return Err(format!(
                    "{}: array of {n} elements cannot fit in the {} bytes left (truncated or corrupt)",
                    what(),
                    c.remaining()
                ));
            }
            let mut v = Vec::with_capacity(n as usize);
            for _ in 0..n {
                v.push(read_value(c, et, depth + 1, what)?);
            }
            Value::Array(et, v)
        }
        10 => Value::U64(c.u64(what)?),
        11 => Value::I64(i64::from_le_bytes(c.arr(what)?)),
        12 => Value::F64(f64::from_le_bytes(c.arr(what)?)),
        _ => return Err(format!("{}: unknown value type {t}", what())),
    })
}

/// Parses the header of GGUF bytes `b` and checks every tensor's extent.
/// Errors are messages (without the path; [`GgufFile`] adds it).
pub fn parse_header(b: &[u8]) -> std::result::Result<Header, String> {
    let mut c = Cursor { b, pos: 0 };
    let magic = c.arr::<4>(&|| "magic".into())?;
    if magic != MAGIC {
        return Err(format!(
            "not a GGUF file (magic {magic:02x?}, expected \"GGUF\")"
        ));
    }
    let version = c.u32(&|| "version".into())?;
    if version != VERSION {
        return Err(format!(
            "GGUF version {version} is not supported (tritium reads version {VERSION})"
        ));
    }
    let n_tensors = c.u64(&|| "tensor count".into())?;
    let n_kv = c.u64(&|| "metadata count".into())?;
    // Smallest metadata entry: 8-byte key length + type + 1-byte value.
    if n_kv > (c.remaining() / 13) as u64 {
        return Err(format!(
            "metadata count {n_kv} cannot fit in a {}-byte file",
            b.len()
        ));
    }
    let mut metadata = Vec::with_capacity(n_kv as usize);
    let mut meta_index = HashMap::new();
    for i in 0..n_kv {
        let key = c.string(&|| format!("key of metadata entry {i}"))?;
        let what = || format!("metadata {key}");
        let t = c.u32(&what)?;
        let v = read_value(&mut c, t, 0, &what)?;
        if meta_index.insert(key.clone(), metadata.len()).is_some() {
            return Err(format!("duplicate metadata key {key}"));
        }
        metadata.push((key, v));
    }
    let get = |k: &str| meta_index.get(k).map(|&i: &usize| &metadata[i].1);
    let alignment = match get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(Value::U32(a)) => u64::from(*a),
        Some(v) => return Err(format!("general.alignment must be a u32, it is {v}")),
    };
    if !alignment.is_power_of_two() {
        return Err(format!(
            "general.alignment = {alignment} is not a power of two"
        ));
    }
    let arch = get("general.architecture").and_then(Value::as_str);
    let bitnet = arch.is_some_and(|a| BITNET_ARCHS.contains(&a));
    // Smallest tensor info: name length + n_dims + one dim + type + offset.
    if n_tensors > (c.remaining() / 28) as u64 {
        return Err(format!(
            "tensor count {n_tensors} cannot fit in a {}-byte file",
            b.len()
        ));
    }
    let mut tensors: Vec<TensorInfo> = Vec::with_capacity(n_tensors as usize);
    let mut index = HashMap::new();
    for i in 0..n_tensors {
        let name = c.string(&|| format!("name of tensor {i}"))?;
        let what = || format!("tensor {name}");
        let nd = c.u32(&what)?;
        if nd == 0 || nd > MAX_DIMS {
            return Err(format!(
                "tensor {name}: {nd} dimensions (1..={MAX_DIMS} allowed)"
            ));
        }
        let mut dims = Vec::with_capacity(nd as usize);
        let mut n: u64 = 1;
        for _ in 0..nd {
            let d = c.u64(&what)?;
            if d == 0 {
                return Err(format!("tensor {name}: a dimension is 0"));
            }
            n = n
                .checked_mul(d)
                .filter(|&n| n <= 1 << 40)
                .ok_or_else(|| format!("tensor {name}: element count overflows"))?;
            dims.push(d);
        }
        let tid = c.u32(&what)?;
        let ty = GgmlType::from_id(tid, bitnet).map_err(|m| format!("tensor {name}: {m}"))?;
        let offset = c.u64(&what)?;
        let size = ty
            .data_size(n, dims[0])
            .map_err(|m| format!("tensor {name} {dims:?}: {m}"))?;
        if offset % alignment != 0 {
            return Err(format!(
                "tensor {name}: data offset {offset} is not a multiple of the alignment {alignment}"
            ));
        }
        if index.insert(name.clone(), tensors.len()).is_some() {
            return Err(format!("duplicate tensor name {name}"));
        }
        tensors.push(TensorInfo {
            name,
            dims,
            ty,
            offset,
            size,
        });
    }
    let end = c.pos as u64;
    let data_start = end
        .checked_next_multiple_of(alignment)
        .ok_or("data offset overflows")?;
    let data_len = (b.len() as u64).saturating_sub(data_start);
    if !tensors.is_empty() && data_start > b.len() as u64 {
        return Err(format!(
            "data section starts at {data_start}, past the end of the {}-byte file (truncated)",
            b.len()
        ));
    }
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| tensors[i].offset);
    let mut prev_end = 0u64;
    let mut prev_name = "";
    for &i in &order {
        let t = &tensors[i];
        let t_end = t
            .offset
            .checked_add(t.size)
            .ok_or_else(|| format!("tensor {}: offset overflows", t.name))?;
        if t_end > data_len {
            return Err(format!(
                "tensor {} ({}, {:?}) needs bytes {}..{} of the data section, which has {data_len} (truncated file or wrong size)",
                t.name,
                t.ty.name(),
                t.dims,
                t.offset,
                t_end
            ));
        }
        if t.offset < prev_end {
            return Err(format!(
                "tensors {prev_name} and {} overlap in the data section",
                t.name
            ));
        }
        prev_end = t_end;
        prev_name = &t.name;
    }
    Ok(Header {
        version,
        metadata,
        tensors,
        alignment,
        data_start,
        index,
        meta_index,
    })
}

enum Backing {
    Map(memmap2::Mmap),
    Bytes(Vec<u8>),
}

/// An opened GGUF file: its header and its (memory-mapped) bytes.
pub struct GgufFile {
    pub path: PathBuf,
    pub header: Header,
    data: Backing,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GgufFile({}, {} tensors, {} metadata keys)",
            self.path.display(),
            self.header.tensors.len(),
            self.header.metadata.len()
        )
    }
}

impl GgufFile {
    /// Memory-maps and parses `path`.
    pub fn open(path: &Path) -> Result<GgufFile> {
        let file = tritium_util::file::open_regular(path)?;
        // SAFETY: read-only map owned by the returned value; tritium never
        // writes to a model file while it is loaded (another process
        // truncating it meanwhile could fault, as with any mmap reader).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.at(path)?;
        let header = parse_header(&map).map_err(|m| gguf_err(path, m))?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            header,
            data: Backing::Map(map),
        })
    }

    /// Parses GGUF bytes held in memory (`path` only names them in messages).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<GgufFile> {
        let header = parse_header(&bytes).map_err(|m| gguf_err(path, m))?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            header,
            data: Backing::Bytes(bytes),
        })
    }

    fn bytes(&self) -> &[u8] {
        match &self.data {
            Backing::Map(m) => m,
            Backing::Bytes(b) => b,
        }
    }

    /// The data bytes of `t` (extent checked at parse time).
    pub fn data(&self, t: &TensorInfo) -> &[u8] {
        let b = self.bytes();
        let start = (self.header.data_start + t.offset) as usize;
        b.get(start..start + t.size as usize).unwrap_or(&[])
    }

    /// Metadata as a sorted map (for display and tests).
    pub fn metadata_map(&self) -> BTreeMap<&str, &Value> {
        self.header
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect()
    }

    /// An error about this file.
    pub fn err(&self, message: impl Into<String>) -> Error {
        gguf_err(&self.path, message)
    }
}

/// True if `path` is a regular file that starts with the GGUF magic (a
/// FIFO or device is never opened).
pub fn is_gguf(path: &Path) -> bool {
    use std::io::Read;
    let mut m = [0u8; 4];
    tritium_util::file::open_regular(path)
        .ok()
        .is_some_and(|mut f| f.read_exact(&mut m).is_ok())
        && m == MAGIC
}

pub(crate) fn gguf_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Gguf {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

#[cfg(test)]
mod compat_tests;
#[cfg(test)]
mod iqbn_model_tests;
#[cfg(test)]
mod tests;
