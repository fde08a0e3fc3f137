//! Writing outputs without losing what the user has.
//!
//! - [`Inputs`]: the files a run reads. An output may not be one of them,
//!   compared by file identity (device and inode, so links and `..` do not
//!   fool it) and by canonical path.
//! - [`check_output_file`] / [`check_output_dir`]: an output that exists
//!   needs `--force`; its directory must exist; a file is not a directory.
//! - [`AtomicFile`] / [`write_atomic`]: every output is written to a
//!   temporary file next to it and renamed over it when complete, so a
//!   failed run leaves the old file as it was.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::file::{AtPath, FileError};

/// Identity of one existing file or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    path: PathBuf,
    dev_ino: (u64, u64),
}

impl Identity {
    fn of(path: &Path) -> Option<Identity> {
        let m = std::fs::metadata(path).ok()?;
        Some(Identity {
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            dev_ino: (m.dev(), m.ino()),
        })
    }
}

/// The inputs of one run.
#[derive(Debug, Clone, Default)]
pub struct Inputs(Vec<Identity>);

impl Inputs {
    pub fn new() -> Inputs {
        Inputs::default()
    }

    /// Records `path`: a file, or a directory and every file directly in it
    /// (a checkpoint directory's config.json, safetensors, tokenizer).
    /// Paths that do not exist are ignored (reading them fails anyway).
    pub fn add(&mut self, path: &Path) {
        let Some(id) = Identity::of(path) else {
            return;
        };
        if path.is_dir() {
            if let Ok(rd) = std::fs::read_dir(path) {
                for e in rd.flatten() {
                    if let Some(f) = Identity::of(&e.path()) {
                        self.0.push(f);
                    }
                }
            }
        }
        self.0.push(id);
    }

    /// With `path` added.
    pub fn with(mut self, path: &Path) -> Inputs {
        self.add(path);
        self
    }

    /// The input `path` is, if it is one.
    fn find(&self, path: &Path) -> Option<&Identity> {
        let id = Identity::of(path)?;
        self.0
            .iter()
            .find(|i| i.dev_ino == id.dev_ino || i.path == id.path)
    }
}

/// Why an output path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The output is one of the run's inputs.
    IsInput,
    /// The output exists and `--force` was not given.
    Exists,
    /// The directory the output would go into does not exist.
    NoDirectory,
    /// A file output names a directory.
    IsDirectory,
    /// A directory output names something else.
    NotDirectory,
    /// A file output names a device, FIFO or socket (e.g. `/dev/null`):
    /// outputs are renamed over their path when complete, which would
    /// replace it, so it is refused even with `--force`.
    NotRegular,
}

/// An output path refused: the flag the user wrote it with, the path at
/// fault (the output, or a file a directory output would write) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputError {
    pub flag: String,
    pub path: PathBuf,
    pub why: Refusal,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: ", self.flag, self.path.display())?;
        match self.why {
            Refusal::IsInput => {
                write!(
                    f,
                    "is one of this run's inputs; write the output somewhere else"
                )
            }
            Refusal::Exists => write!(f, "exists; pass --force to replace it"),
            Refusal::NoDirectory => write!(
                f,
                "the directory {} does not exist",
                parent_dir(&self.path).display()
            ),
            Refusal::IsDirectory => write!(f, "is not a file (it is a directory)"),
            Refusal::NotDirectory => write!(f, "is not a directory"),
            Refusal::NotRegular => write!(
                f,
                "is a device, FIFO or socket, not a file: outputs are written to a temporary file renamed over their path, which would replace it; name a file"
            ),
        }
    }
}

impl std::error::Error for OutputError {}

/// The directory a file output goes into (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `Err` of `why` for `path` when `refused`.
fn refuse(refused: bool, flag: &str, path: &Path, why: Refusal) -> Result<(), OutputError> {
    if refused {
        Err(OutputError {
            flag: flag.into(),
            path: path.to_path_buf(),
            why,
        })
    } else {
        Ok(())
    }
}

/// Checks a file output given with `flag` that is written atomically
/// ([`AtomicFile`]): its directory exists, it is not a directory, a device,
/// FIFO or socket (renaming over it would replace it), not one of `inputs`,
/// and (unless `force`) does not exist.
pub fn check_output_file(
    flag: &str,
    path: &Path,
    force: bool,
    inputs: &Inputs,
) -> Result<(), OutputError> {
    refuse(
        path.exists() && !path.is_file() && !path.is_dir(),
        flag,
        path,
        Refusal::NotRegular,
    )?;
    check_stream_output_file(flag, path, force, inputs)
}

/// [`check_output_file`] for an output streamed into its path as it is
/// produced (a waveform): a device is a valid destination there
/// (`--trace /dev/null`; `/dev/full` reports its write error).
pub fn check_stream_output_file(
    flag: &str,
    path: &Path,
    force: bool,
    inputs: &Inputs,
) -> Result<(), OutputError> {
    refuse(inputs.find(path).is_some(), flag, path, Refusal::IsInput)?;
    refuse(path.is_dir(), flag, path, Refusal::IsDirectory)?;
    refuse(!parent_dir(path).is_dir(), flag, path, Refusal::NoDirectory)?;
    refuse(path.exists() && !force, flag, path, Refusal::Exists)
}

/// Checks a directory output given with `flag` into which `files` will be
/// written: it is a directory or does not exist yet (its parent does), it
/// is not an input, and none of `files` in it is an input or (unless
/// `force`) exists.
pub fn check_output_dir(
    flag: &str,
    dir: &Path,
    files: &[&str],
    force: bool,
    inputs: &Inputs,
) -> Result<(), OutputError> {
    // An input first: `convert --from m.gguf --to m.gguf` is told that
    // `m.gguf` is its input, not only that it is no directory.
    refuse(inputs.find(dir).is_some(), flag, dir, Refusal::IsInput)?;
    refuse(
        dir.exists() && !dir.is_dir(),
        flag,
        dir,
        Refusal::NotDirectory,
    )?;
    refuse(
        !dir.exists() && !parent_dir(dir).is_dir(),
        flag,
        dir,
        Refusal::NoDirectory,
    )?;
    for f in files {
        let p = dir.join(f);
        refuse(inputs.find(&p).is_some(), flag, &p, Refusal::IsInput)?;
        refuse(p.exists() && !force, flag, &p, Refusal::Exists)?;
    }
    Ok(())
}

/// A file written under a temporary name in its final directory and
/// renamed to its final name by [`AtomicFile::commit`]; dropped without a
/// commit, the temporary file is removed and the final path untouched.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl AtomicFile {
    /// Starts writing `path` (its directory must exist).
    pub fn create(path: &Path) -> Result<AtomicFile, FileError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        // `.stem.tmp-PID-N.ext`: hidden, unique, and with the final name's
        // extension (writers that pick a format by extension, as plotters
        // does, see the right one).
        let stem = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let tmp = parent_dir(path).join(format!(
            ".{stem}.tmp-{}-{}{ext}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .at(path)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::new(file)),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary path, for a writer that takes a path instead of a
    /// `Write` (it may replace the file there; commit renames it).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Flushes the data and renames the file to its final name. A final
    /// path that is a device, FIFO or socket (`/dev/null`) is not replaced:
    /// an error, the temporary file removed.
    pub fn commit(mut self) -> Result<(), FileError> {
        if std::fs::metadata(&self.path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            return Err(FileError::new(
                &self.path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "is a device, FIFO or socket, not a file: not replaced",
                ),
            ));
        }
        if let Some(w) = self.file.take() {
            let f = w
                .into_inner()
                .map_err(|e| FileError::new(&self.path, e.into_error()))?;
            f.sync_all().at(&self.path)?;
        }
        std::fs::rename(&self.tmp, &self.path).at(&self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `path` through an [`AtomicFile`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).at(path)?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "tritium-output-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn outputs_may_not_be_inputs_even_through_links() {
        let d = dir();
        let model = d.join("model");
        std::fs::create_dir(&model).unwrap();
        std::fs::write(model.join("model.safetensors"), "x").unwrap();
        std::os::unix::fs::symlink(model.join("model.safetensors"), d.join("link")).unwrap();
        let inputs = Inputs::new().with(&model);
        for p in [
            model.join("model.safetensors"),
            d.join("link"),
            model.join("../model/model.safetensors"),
        ] {
            let e = check_output_file("--logits", &p, true, &inputs).unwrap_err();
            assert_eq!(e.why, Refusal::IsInput, "{e}");
            assert!(e.to_string().starts_with("--logits "), "{e}");
        }
        // A new file next to the inputs is fine; the directory itself is not.
        check_output_file("--logits", &model.join("logits.json"), false, &inputs).unwrap();
        let e = check_output_dir("--out", &model, &["a"], true, &inputs).unwrap_err();
        assert_eq!(e.why, Refusal::IsInput, "{e}");
        // A directory output named as an input file says so (it is also no
        // directory, which alone would not tell the user what went wrong).
        let file_in = Inputs::new().with(&model.join("model.safetensors"));
        let e = check_output_dir(
            "--to",
            &model.join("model.safetensors"),
            &[],
            true,
            &file_in,
        )
        .unwrap_err();
        assert_eq!(e.why, Refusal::IsInput, "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Regression: `--out /dev/null --force` renamed a file over the device
    /// node, leaving a regular /dev/null. Checked here on a FIFO.
    #[test]
    fn devices_and_fifos_are_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let d = dir();
        let fifo = d.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = check_output_file("--out", &fifo, true, &Inputs::new()).unwrap_err();
        assert_eq!(e.why, Refusal::NotRegular, "{e}");
        assert!(e.to_string().starts_with("--out "), "{e}");
        // A streamed output (a waveform) may go to a device.
        check_stream_output_file("--trace", &fifo, true, &Inputs::new()).unwrap();
        let e = write_atomic(&fifo, b"data").unwrap_err();
        assert!(e.to_string().contains("not replaced"), "{e}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert_eq!(left.len(), 1, "the temporary file is removed");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn existing_outputs_need_force_and_directories_must_exist() {
        let d = dir();
        let f = d.join("out.json");
        std::fs::write(&f, "old").unwrap();
        let none = Inputs::new();
        let e = check_output_file("--logits", &f, false, &none).unwrap_err();
        assert!(e.to_string().contains("pass --force"), "{e}");
        check_output_file("--logits", &f, true, &none).unwrap();
        let e = check_output_file("--trace", &d.join("no/such/t.vcd"), true, &none).unwrap_err();
        assert_eq!(e.why, Refusal::NoDirectory, "{e}");
        let e = check_output_file("--trace", &d, true, &none).unwrap_err();
        assert_ne!(e.why, Refusal::Exists, "{e}");
        let e = check_output_dir("--out", &f, &[], true, &none).unwrap_err();
        assert_ne!(e.why, Refusal::Exists, "{e}");
        let e = check_output_dir("--out", &d, &["out.json"], false, &none).unwrap_err();
        assert_eq!(e.why, Refusal::Exists, "{e}");
        check_output_dir("--out", &d.join("new"), &["out.json"], false, &none).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let d = dir();
        let f = d.join("r.json");
        std::fs::write(&f, "old").unwrap();
        {
            let mut a = AtomicFile::create(&f).unwrap();
            a.write_all(b"half").unwrap();
            // dropped without commit: as if the run failed here
        }
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "temporary file left"
        );
        write_atomic(&f, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new");
        let e = write_atomic(Path::new("/dev/full/x"), b"y").unwrap_err();
        assert!(e.to_string().contains("/dev/full/x"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
