//! Tensor sources: memory-mapped safetensors files (single or sharded with
//! `model.safetensors.index.json`) and in-memory tensor sets, behind one trait
//! so the model assembler reads both the same way.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::tensor::TensorInfo;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::floats::{self, FloatKind};
use tritium_util::AtPath;

/// A borrowed view of one tensor: dtype, shape and little-endian bytes.
#[derive(Debug, Clone)]
pub struct TensorRef<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub dtype: Dtype,
    pub shape: &'a [usize],
    pub bytes: &'a [u8],
}

impl TensorRef<'_> {
    /// Fails unless the shape is `expected`.
    pub fn expect_shape(&self, expected: &[usize]) -> Result<()> {
        if self.shape != expected {
            return Err(Error::TensorShape {
                path: self.path.to_path_buf(),
                tensor: self.name.to_string(),
                expected: expected.to_vec(),
                got: self.shape.to_vec(),
            });
        }
        Ok(())
    }

    fn dtype_err(&self, expected: &str) -> Error {
        Error::TensorDtype {
            path: self.path.to_path_buf(),
            tensor: self.name.to_string(),
            expected: expected.to_string(),
            got: format!("{:?}", self.dtype),
        }
    }

    /// The element type of a float tensor (BF16, F16 or F32), else the
    /// error [`Self::to_f32`] gives.
    pub(crate) fn float_kind(&self) -> Result<FloatKind> {
        match self.dtype {
            Dtype::F32 => Ok(FloatKind::F32),
            Dtype::F16 => Ok(FloatKind::F16),
            Dtype::BF16 => Ok(FloatKind::Bf16),
            _ => Err(self.dtype_err("BF16, F16 or F32")),
        }
    }

    /// The values widened to f32 (BF16, F16 or F32 tensors; widening is exact).
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        Ok(floats::widen(self.float_kind()?, self.bytes))
    }

    /// The raw bf16 bit patterns of a BF16 tensor.
    pub fn to_bf16_bits(&self) -> Result<Vec<u16>> {
        if self.dtype != Dtype::BF16 {
            return Err(self.dtype_err("BF16"));
        }
        Ok(self.bits16())
    }

    /// The raw IEEE binary16 bit patterns of an F16 tensor.
    pub fn to_f16_bits(&self) -> Result<Vec<u16>> {
        if self.dtype != Dtype::F16 {
            return Err(self.dtype_err("F16"));
        }
        Ok(self.bits16())
    }

    /// The bytes read as little-endian 16-bit patterns.
    fn bits16(&self) -> Vec<u16> {
        // Huge pages: the 16-bit tensors are the embedding and the LM head,
        // read whole for every generated token.
        let mut v = tritium_util::huge_vec(self.bytes.len() / 2);
        v.extend(
            self.bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        );
        v
    }

    /// The bytes of a U8 tensor.
    pub fn as_u8(&self) -> Result<&[u8]> {
        if self.dtype != Dtype::U8 {
            return Err(self.dtype_err("U8 (packed ternary codes)"));
        }
        Ok(self.bytes)
    }

    /// The single value of a one-element float tensor (shape `[1]` or `[]`).
    pub fn scalar_f32(&self) -> Result<f32> {
        if self.shape.iter().product::<usize>() != 1 {
            return Err(Error::TensorShape {
                path: self.path.to_path_buf(),
                tensor: self.name.to_string(),
                expected: vec![1],
                got: self.shape.to_vec(),
            });
        }
        Ok(self.to_f32()?[0])
    }
}

/// Where the assembler gets tensors from.
pub trait TensorSource: Sync {
    /// The tensor called `name`, or [`Error::MissingTensor`].
    fn tensor(&self, name: &str) -> Result<TensorRef<'_>>;
    /// Every tensor name, sorted.
    fn names(&self) -> Vec<String>;
    /// A path naming this source in messages.
    fn origin(&self) -> &Path;
}

/// The bytes of one shard: memory-mapped from its file, or (fuzzing and
/// tests) held in memory.
enum Backing {
    Map(Mmap),
    #[cfg(any(test, feature = "fuzzing"))]
    Bytes(Vec<u8>),
}

impl std::ops::Deref for Backing {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Backing::Map(m) => m,
            #[cfg(any(test, feature = "fuzzing"))]
            Backing::Bytes(b) => b,
        }
    }
}

struct Shard {
    path: PathBuf,
    data: Backing,
    data_start: usize,
    tensors: HashMap<String, TensorInfo>,
}

/// Memory-mapped safetensors files of one checkpoint directory.
pub struct SafetensorsDir {
    dir: PathBuf,
    shards: Vec<Shard>,
    index: BTreeMap<String, usize>,
}

/// Bytes per element of a safetensors dtype name (None: unknown dtype).
fn dtype_bytes(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "U16" | "I16" | "F16" | "BF16" => 2,
        "U32" | "I32" | "F32" => 4,
        "U64" | "I64" | "F64" => 8,
        _ => return None,
    })
}

/// Why a safetensors header the `safetensors` crate refused is wrong, naming
/// the first tensor at fault (the crate's own message may name none, or the
/// tensor after a gap): its dtype, shape and data offsets against each other
/// and against the file. `None` if no tensor is at fault by these checks.
fn diagnose_header(bytes: &[u8]) -> Option<String> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let end = 8u64.checked_add(n)?;
    let text = bytes.get(8..usize::try_from(end).ok()?)?;
    let header: serde_json::Value = serde_json::from_slice(text).ok()?;
    let data_len = bytes.len() as u64 - end;
    let mut tensors: Vec<(&String, &serde_json::Value)> = header
        .as_object()?
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .collect();
    tensors.sort_by_key(|(_, v)| v["data_offsets"][0].as_u64());
    let mut expected_begin = 0u64;
    for (name, v) in tensors {
        let dtype = v["dtype"].as_str().unwrap_or("?");
        let shape: Option<Vec<u64>> = v["shape"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64()).collect());
        let offs: Option<Vec<u64>> = v["data_offsets"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64()).collect());
        let (Some(shape), Some(offs)) = (shape, offs) else {
            return Some(format!(
                "tensor {name}: shape or data_offsets is not a list of integers"
            ));
        };
        let [begin, stop] = offs[..] else {
            return Some(format!("tensor {name}: data_offsets must be [begin, end]"));
        };
        let Some(size) = dtype_bytes(dtype) else {
            return Some(format!("tensor {name}: unknown dtype {dtype}"));
        };
        let bytes = shape.iter().try_fold(size, |acc, &d| acc.checked_mul(d));
        if stop < begin || stop > data_len {
            return Some(format!(
                "tensor {name}: data_offsets [{begin}, {stop}] are outside the {data_len} bytes of data (truncated file?)"
            ));
        }
        if bytes != Some(stop - begin) {
            return Some(format!(
                "tensor {name}: dtype {dtype} and shape {shape:?} need {} bytes, its data_offsets [{begin}, {stop}] hold {}",
                bytes.map_or("more than 2^64".to_string(), |b| b.to_string()),
                stop - begin
            ));
        }
        if begin != expected_begin {
            return Some(format!(
                "tensor {name}: its data starts at {begin}, but the previous tensor ends at {expected_begin} (a gap or overlap: a tensor missing from the header?)"
            ));
        }
        expected_begin = stop;
    }
    None
}

fn open_shard(path: &Path) -> Result<Shard> {
    let file = tritium_util::file::open_regular(path)?;
    // SAFETY: the map is read-only and lives as long as `Shard`; tritium never
    // writes to checkpoint files while a model is loaded. Another process
    // truncating the file meanwhile could fault, as with any mmap reader.
    #[allow(unsafe_code)]
    let map = unsafe { Mmap::map(&file) }.at(path)?;
    parse_shard(path, Backing::Map(map))
}

/// Parses the header of a shard's bytes (`path` names it in messages): the
/// one parser behind memory-mapped files and in-memory bytes.
fn parse_shard(path: &Path, data: Backing) -> Result<Shard> {
    let (header, meta) = SafeTensors::read_metadata(&data).map_err(|e| Error::Safetensors {
        path: path.to_path_buf(),
        message: diagnose_header(&data)
            .unwrap_or_else(|| format!("{e} (truncated or corrupt file?)")),
    })?;
    let tensors = meta
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.clone()))
        .collect();
    Ok(Shard {
        path: path.to_path_buf(),
        data,
        data_start: 8 + header,
        tensors,
    })
}

impl SafetensorsDir {
    /// Opens `dir/model.safetensors`, or the shards listed by
    /// `dir/model.safetensors.index.json`. Headers and sizes are checked here.
    pub fn open(dir: &Path) -> Result<SafetensorsDir> {
        let single = dir.join("model.safetensors");
        let index_path = dir.join("model.safetensors.index.json");
        if single.exists() {
            return Ok(SafetensorsDir::single(dir, open_shard(&single)?));
        }
        if !index_path.exists() {
            return Err(Error::NoSafetensors {
                path: dir.to_path_buf(),
            });
        }
        let mut shards = Vec::new();
        let mut index = BTreeMap::new();
        let text = tritium_util::file::read_to_string_regular(&index_path)?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Safetensors {
            path: index_path.clone(),
            message: format!("invalid index JSON: {e}"),
        })?;
        let map = v
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| Error::Safetensors {
                path: index_path.clone(),
                message: "no \"weight_map\" object".into(),
            })?;
        let mut files: BTreeMap<String, usize> = BTreeMap::new();
        for (name, file) in map {
            let file = file
                .as_str()
                .filter(|f| !f.contains('/') && !f.contains('\\'))
                .ok_or_else(|| Error::Safetensors {
                    path: index_path.clone(),
                    message: format!(
                        "weight_map entry for {name} is not a file name in this directory"
                    ),
                })?;
            let i = match files.get(file) {
                Some(&i) => i,
                None => {
                    shards.push(open_shard(&dir.join(file))?);
                    files.insert(file.to_string(), shards.len() - 1);
                    shards.len() - 1
                }
            };
            if !shards[i].tensors.contains_key(name) {
                return Err(Error::MissingTensor {
                    path: shards[i].path.clone(),
                    tensor: name.clone(),
                });
            }
            index.insert(name.clone(), i);
        }
        Ok(SafetensorsDir {
            dir: dir.to_path_buf(),
            shards,
            index,
        })
    }

    /// The checkpoint of one shard, `dir/model.safetensors`.
    fn single(dir: &Path, shard: Shard) -> SafetensorsDir {
        SafetensorsDir {
            dir: dir.to_path_buf(),
            index: shard.tensors.keys().map(|k| (k.clone(), 0)).collect(),
            shards: vec![shard],
        }
    }

    /// A checkpoint directory whose `model.safetensors` holds `bytes`, parsed
    /// exactly as [`SafetensorsDir::open`] parses the file it maps (no file
    /// is read: `dir` only names the checkpoint in messages). For the fuzzer.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_bytes(dir: &Path, bytes: Vec<u8>) -> Result<SafetensorsDir> {
        let shard = parse_shard(&dir.join("model.safetensors"), Backing::Bytes(bytes))?;
        Ok(SafetensorsDir::single(dir, shard))
    }

    /// Total bytes of tensor data mapped.
    pub fn mapped_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.data.len()).sum()
    }
}

impl TensorSource for SafetensorsDir {
    fn tensor(&self, name: &str) -> Result<TensorRef<'_>> {
        let missing = || Error::MissingTensor {
            path: self.dir.clone(),
            tensor: name.to_string(),
        };
        let &i = self.index.get(name).ok_or_else(missing)?;
        let shard = &self.shards[i];
        let info = shard.tensors.get(name).ok_or_else(missing)?;
        let (a, b) = info.data_offsets;
        Ok(TensorRef {
            path: &shard.path,
            name: self
                .index
                .get_key_value(name)
                .map(|(k, _)| k.as_str())
                .unwrap_or(""),
            dtype: info.dtype,
            shape: &info.shape,
            bytes: &shard.data[shard.data_start + a..shard.data_start + b],
        })
    }

    fn names(&self) -> Vec<String> {
        self.index.keys().cloned().collect()
    }

    fn origin(&self) -> &Path {
        &self.dir
    }
}

/// An owned tensor (for writing checkpoints and for in-memory models).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedTensor {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl OwnedTensor {
    pub fn bf16(shape: Vec<usize>, bits: &[u16]) -> OwnedTensor {
        OwnedTensor {
            dtype: Dtype::BF16,
            shape,
            bytes: bits.iter().flat_map(|b| b.to_le_bytes()).collect(),
        }
    }
    pub fn u8(shape: Vec<usize>, bytes: Vec<u8>) -> OwnedTensor {
        OwnedTensor {
            dtype: Dtype::U8,
            shape,
            bytes,
        }
    }
}

/// A named set of owned tensors.
#[derive(Debug, Clone, Default)]
pub struct MemTensors {
    pub origin: PathBuf,
    pub tensors: BTreeMap<String, OwnedTensor>,
}

impl TensorSource for MemTensors {
    fn tensor(&self, name: &str) -> Result<TensorRef<'_>> {
        let (k, t) = self
            .tensors
            .get_key_value(name)
            .ok_or_else(|| Error::MissingTensor {
                path: self.origin.clone(),
                tensor: name.to_string(),
            })?;
        Ok(TensorRef {
            path: &self.origin,
            name: k,
            dtype: t.dtype,
            shape: &t.shape,
            bytes: &t.bytes,
        })
    }
    fn names(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }
    fn origin(&self) -> &Path {
        &self.origin
    }
}

impl MemTensors {
    /// Views of all tensors for the safetensors writer (`path` names the
    /// file in messages).
    fn views(&self, path: &Path) -> Result<Vec<(String, safetensors::tensor::TensorView<'_>)>> {
        self.tensors
            .iter()
            .map(|(k, t)| {
                safetensors::tensor::TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
                    .map(|v| (k.clone(), v))
                    .map_err(|e| Error::Safetensors {
                        path: path.to_path_buf(),
                        message: format!("{k}: {e}"),
                    })
            })
            .collect()
    }

    /// The bytes [`MemTensors::write_safetensors`] writes, in memory (for
    /// the fuzzer's base input).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn to_safetensors_bytes(&self) -> Result<Vec<u8>> {
        safetensors::serialize(self.views(&self.origin)?, None).map_err(|e| Error::Safetensors {
            path: self.origin.clone(),
            message: e.to_string(),
        })
    }

    /// Writes all tensors to one safetensors file.
    pub fn write_safetensors(&self, path: &Path) -> Result<()> {
        let views = self.views(path)?;
        let out = tritium_util::AtomicFile::create(path)?;
        safetensors::serialize_to_file(views, None, out.tmp_path()).map_err(|e| {
            Error::Safetensors {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        Ok(out.commit()?)
    }
}
