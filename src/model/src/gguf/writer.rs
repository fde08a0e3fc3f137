//! Writing GGUF version 3, generically: [`GgufWriter`] holds metadata and
//! tensors and lays out the file (aligned data section). What a BitNet
//! model puts into it is [`super::export`].

use std::path::Path;

use super::{GgmlType, Value, DEFAULT_ALIGNMENT, MAGIC, VERSION};
use crate::error::Result;

/// A tensor to write: name, ggml dims (innermost first), type, raw bytes.
#[derive(Debug, Clone)]
pub struct RawTensor {
    pub name: String,
    pub dims: Vec<u64>,
    /// The type id written (usually a [`GgmlType`]'s id; tests write others).
    pub type_id: u32,
    pub bytes: Vec<u8>,
}

/// Builds a GGUF file in memory.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<RawTensor>,
    pub alignment: u64,
}

impl Default for GgufWriter {
    fn default() -> Self {
        GgufWriter {
            metadata: Vec::new(),
            tensors: Vec::new(),
            alignment: DEFAULT_ALIGNMENT,
        }
    }
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

pub(crate) fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend(x.to_le_bytes()),
        Value::I16(x) => out.extend(x.to_le_bytes()),
        Value::U32(x) => out.extend(x.to_le_bytes()),
        Value::I32(x) => out.extend(x.to_le_bytes()),
        Value::F32(x) => out.extend(x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::Str(s) => put_str(out, s),
        Value::Array(t, items) => {
            out.extend(t.to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for i in items {
                put_value(out, i);
            }
        }
        Value::U64(x) => out.extend(x.to_le_bytes()),
        Value::I64(x) => out.extend(x.to_le_bytes()),
        Value::F64(x) => out.extend(x.to_le_bytes()),
    }
}

impl GgufWriter {
    /// Adds (or replaces) a metadata entry.
    pub fn set(&mut self, key: &str, v: Value) {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = v,
            None => self.metadata.push((key.to_string(), v)),
        }
    }

    /// Adds a tensor of a known type.
    pub fn tensor(&mut self, name: &str, dims: Vec<u64>, ty: GgmlType, bytes: Vec<u8>) {
        self.tensors.push(RawTensor {
            name: name.to_string(),
            dims,
            type_id: ty.id(),
            bytes,
        });
    }

    /// The whole file. `general.alignment` is written when it differs from
    /// the default.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut meta = self.metadata.clone();
        if self.alignment != DEFAULT_ALIGNMENT
            && !meta.iter().any(|(k, _)| k == "general.alignment")
        {
            meta.push((
                "general.alignment".into(),
                Value::U32(self.alignment as u32),
            ));
        }
        let align = self.alignment.max(1);
        let mut out = Vec::new();
        out.extend(MAGIC);
        out.extend(VERSION.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((meta.len() as u64).to_le_bytes());
        for (k, v) in &meta {
            put_str(&mut out, k);
            out.extend(v.type_id().to_le_bytes());
            put_value(&mut out, v);
        }
        let mut offset = 0u64;
        let mut offsets = Vec::new();
        for t in &self.tensors {
            put_str(&mut out, &t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.type_id.to_le_bytes());
            out.extend(offset.to_le_bytes());
            offsets.push(offset);
            offset = (offset + t.bytes.len() as u64).next_multiple_of(align);
        }
        let start = (out.len() as u64).next_multiple_of(align);
        out.resize(start as usize, 0);
        for (t, off) in self.tensors.iter().zip(offsets) {
            out.resize((start + off) as usize, 0);
            out.extend(&t.bytes);
        }
        out
    }

    /// Writes the file to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(tritium_util::write_atomic(path, &self.to_bytes())?)
    }
}
