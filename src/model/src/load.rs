//! One entry point for every model a user can name: [`load`] takes a
//! Hugging Face checkpoint directory or a GGUF file (recognized by its
//! magic, whatever its name), [`load_tokenizer`] finds the tokenizer that
//! belongs to it.

use std::path::Path;

use tritium_golden::ModelConfig;
use tritium_util::Progress;

use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::loaded::LoadedModel;
use crate::tokenizer::TextTokenizer;

/// What a model path is, once it is known to be one of the two formats.
enum Source {
    Dir,
    Gguf,
}

/// Classifies `path`: a checkpoint directory or a GGUF file (recognized by
/// its magic, whatever its name); anything else is the error naming it.
fn source(path: &Path) -> Result<Source> {
    if path.is_dir() {
        Ok(Source::Dir)
    } else if path.exists() && !path.is_file() {
        // A FIFO, a socket or a device: refused by name, never opened.
        Err(tritium_util::file::check_regular(path).err().map_or(
            Error::NotAModel {
                path: path.to_path_buf(),
            },
            Error::from,
        ))
    } else if crate::gguf::is_gguf(path) {
        Ok(Source::Gguf)
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

/// Loads `path`: a checkpoint directory (config.json + safetensors) or a
/// GGUF file. `progress` hears the number of layers, then each one loaded.
pub fn load(path: &Path, progress: Option<&dyn Progress>) -> Result<LoadedModel> {
    match source(path)? {
        Source::Dir => crate::checkpoint::load_dir(path, progress),
        Source::Gguf => crate::gguf::load::load_gguf(path, progress),
    }
}

/// The shape of the model at `path` without its weights: a checkpoint
/// directory's config.json, or a GGUF file's metadata and tensor list (the
/// file is mapped, its data not read). The same checks as [`load`]'s.
pub fn load_config(path: &Path) -> Result<ModelConfig> {
    match source(path)? {
        Source::Dir => Ok(crate::hfconfig::read_config(&path.join("config.json"))?.0),
        Source::Gguf => crate::gguf::load::read_config(&GgufFile::open(path)?),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::export::EmbedType;
    use crate::hfconfig::LinearClass;
    use crate::synthetic::{write_checkpoint, write_gguf, CheckpointFormat, SynthOptions};
    use tritium_golden::Preset;

    /// `load_config` gives the shape `load` gives, from either format, and
    /// the same errors for what is not a model.
    #[test]
    fn load_config_is_the_loaded_models_shape() {
        let dir = tempfile::tempdir().unwrap();
        let opts = |format| SynthOptions {
            config: Preset::Tiny.config(),
            seed: 3,
            format,
            linear_class: LinearClass::Autobitlinear,
        };
        let hf = dir.path().join("hf");
        write_checkpoint(&hf, &opts(CheckpointFormat::HfPacked), None).unwrap();
        let gguf = dir.path().join("m.gguf");
        write_gguf(
            &gguf,
            &opts(CheckpointFormat::GgufI2s),
            EmbedType::F16,
            None,
        )
        .unwrap();
        for p in [&hf, &gguf] {
            let c = load_config(p).unwrap();
            assert_eq!(&c, load(p, None).unwrap().model.config(), "{}", p.display());
        }
        let missing = dir.path().join("nothing");
        let e = load_config(&missing).unwrap_err().to_string();
        assert!(e.contains("nothing"), "{e}");
        let junk = dir.path().join("junk.bin");
        std::fs::write(&junk, b"not a model").unwrap();
        assert!(load_config(&junk).is_err());
    }
}
