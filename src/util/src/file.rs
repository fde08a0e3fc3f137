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
