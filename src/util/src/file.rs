//! File errors that name the file: every crate's `Error` carries a
//! [`FileError`] for a failed read or write, and [`AtPath::at`] attaches the
//! path to an `io::Result` in one call.

use std::path::{Path, PathBuf};

/// An I/O operation on `path` that failed. Displays as `path: reason`.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl FileError {
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> FileError {
        FileError {
            path: path.into(),
            source,
        }
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

/// The reason is part of the message, so it is not repeated as a source.
impl std::error::Error for FileError {}

/// Attaches the path an I/O operation was on to its error.
pub trait AtPath<T> {
    /// `Err(e)` becomes `Err(FileError { path, source: e })`.
    fn at(self, path: impl AsRef<Path>) -> Result<T, FileError>;
}

impl<T> AtPath<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, FileError> {
        self.map_err(|e| FileError::new(path.as_ref(), e))
    }
}

/// Largest file read whole into memory (config.json, tokenizer.json, energy
/// tables, JSON results): a larger one is refused before it is read.
pub const MAX_TEXT_FILE: u64 = 1 << 30;

fn refuse(path: &Path, why: String) -> FileError {
    FileError::new(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
    )
}

/// What kind of file system object `m` is, for messages.
fn kind(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Checks that `path` is a regular file (following symlinks), without
/// opening it: a FIFO would block the open, a directory or a device is not
/// a file to read.
pub fn check_regular(path: &Path) -> Result<std::fs::Metadata, FileError> {
    let m = std::fs::metadata(path).at(path)?;
    if m.is_file() {
        Ok(m)
    } else {
        Err(refuse(path, format!("is {}, not a regular file", kind(&m))))
    }
}

/// Opens a regular file for reading ([`check_regular`] first).
pub fn open_regular(path: &Path) -> Result<std::fs::File, FileError> {
    check_regular(path)?;
    std::fs::File::open(path).at(path)
}

/// Reads a regular file of at most [`MAX_TEXT_FILE`] bytes.
pub fn read_regular(path: &Path) -> Result<Vec<u8>, FileError> {
    let m = check_regular(path)?;
    if m.len() > MAX_TEXT_FILE {
        return Err(refuse(
            path,
            format!(
                "is {} bytes, more than the {MAX_TEXT_FILE} read whole",
                m.len()
            ),
        ));
    }
    std::fs::read(path).at(path)
}

/// Reads a regular UTF-8 text file of at most [`MAX_TEXT_FILE`] bytes.
pub fn read_to_string_regular(path: &Path) -> Result<String, FileError> {
    let bytes = read_regular(path)?;
    String::from_utf8(bytes).map_err(|e| refuse(path, format!("is not UTF-8 text ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_regular_files_are_refused_without_opening() {
        let d = std::env::temp_dir().join(format!("tritium-file-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let e = read_regular(&d).unwrap_err().to_string();
        assert!(e.contains("is a directory, not a regular file"), "{e}");
        let fifo = d.join("fifo");
        let ok = std::process::Command::new("mkfifo").arg(&fifo).status();
        if ok.is_ok_and(|s| s.success()) {
            // Opening a FIFO for reading would block until a writer comes.
            let e = open_regular(&fifo).unwrap_err().to_string();
            assert!(e.contains("is a FIFO"), "{e}");
        }
        let e = read_regular(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a device"), "{e}");
        let f = d.join("f.txt");
        std::fs::write(&f, "hi").unwrap();
        assert_eq!(read_to_string_regular(&f).unwrap(), "hi");
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        assert!(read_to_string_regular(&f)
            .unwrap_err()
            .to_string()
            .contains("UTF-8"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
