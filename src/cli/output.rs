//! What the commands print on stdout, through one place.

use std::io::Write;

use serde::Serialize;
use tritium_util::AtPath;

use super::error::Result;

/// Prints `text` on stdout.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).at("<stdout>")?;
    Ok(out.flush().at("<stdout>")?)
}

/// Prints `v` as pretty JSON and a newline on stdout.
pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(v)
        .map_err(std::io::Error::from)
        .at("<stdout>")?;
    print(&(text + "\n"))
}
