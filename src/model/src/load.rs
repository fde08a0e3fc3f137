//! One entry point for every model a user can name: [`load`] takes a
//! Hugging Face checkpoint directory or a GGUF file (recognized by its
//! magic, whatever its name), [`load_tokenizer`] finds the tokenizer that
//! belongs to it.

use std::path::Path;

use tritium_util::Progress;

use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::loaded::LoadedModel;
use crate::tokenizer::TextTokenizer;

/// Loads `path`: a checkpoint directory (config.json + safetensors) or a
/// GGUF file. `progress` hears the number of layers, then each one loaded.
pub fn load(path: &Path, progress: Option<&dyn Progress>) -> Result<LoadedModel> {
    if path.is_dir() {
        crate::checkpoint::load_dir(path, progress)
    } else if path.exists() && !path.is_file() {
        // A FIFO, a socket or a device: refused by name, never opened.
        Err(tritium_util::file::check_regular(path).err().map_or(
            Error::NotAModel {
                path: path.to_path_buf(),
            },
            Error::from,
        ))
    } else if crate::gguf::is_gguf(path) {
        crate::gguf::load::load_gguf(path, progress)
    } else if !path.exists() {
        Err(Error::NotFound {
            path: path.to_path_buf(),
        })
    } else {
        Err(Error::NotAModel {
            path: path.to_path_buf(),
        })
    }
}

/// The tokenizer of the model at `path`: `tokenizer.json` in the directory
/// (or next to a GGUF file), else a GGUF file's `tokenizer.ggml.*`
/// metadata; `None` when there is neither.
pub fn load_tokenizer(path: &Path) -> Result<Option<TextTokenizer>> {
    let dir = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    match dir.map(|d| d.join("tokenizer.json")) {
        Some(p) if p.exists() => Ok(Some(TextTokenizer::load(&p)?)),
        _ if !path.is_dir() => {
            let f = GgufFile::open(path)?;
            crate::gguf::vocab::load_tokenizer(&f)
        }
        _ => Ok(None),
    }
}
