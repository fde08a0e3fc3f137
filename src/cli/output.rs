//! What the commands print on stdout, through one place: a closed stdout
//! (`tritium cosim | head -1`) ends the command quietly, as `grep` and
//! `ripgrep` do; any other write error (a full disk) is an error message.
//! Nothing here panics, unlike `println!`.

use std::io::Write;

use serde::Serialize;
use tritium_util::FileError;

use super::error::{Error, Result};

fn stdout_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error::StdoutClosed
    } else {
        FileError::new("<stdout>", e).into()
    }
}

/// Prints `text` on stdout.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)
}

/// Prints `text` and a newline on stdout.
pub fn println(text: &str) -> Result<()> {
    print(&format!("{text}\n"))
}

/// Prints `v` as pretty JSON and a newline on stdout.
pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| stdout_error(e.into()))?;
    print(&(text + "\n"))
}
