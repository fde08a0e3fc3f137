//! The reader of `rtl/files.f`, the one list of RTL sources every tool of
//! tritium reads (the Verilator build of `tritium-sim`, the FPGA flow, lint).
//!
//! Grammar (a subset of the Verilog-tool `-f` convention, one token per
//! whitespace-separated word): a source path relative to the repository
//! root; `+incdir+DIR[+DIR...]`; `-f FILE` / `-F FILE` (a nested list, read
//! once); `-v FILE` (a library source) and `-y DIR` (a library directory,
//! kept as an include directory); any other token starting with `-` or `+`
//! is an option, kept in order. `//` starts a comment to the end of the
//! line; a line whose first non-blank character is `#` is a comment.
//! Every path named must exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What a file list names, paths absolute (joined to the root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileList {
    /// The list read (the top one).
    pub list: PathBuf,
    /// Every file list read, the top one first (for rebuild triggers).
    pub lists: Vec<PathBuf>,
    /// Source files in order.
    pub sources: Vec<PathBuf>,
    /// Include directories in order.
    pub incdirs: Vec<PathBuf>,
    /// Other options, in order (`+define+X`, `-Wno-...`).
    pub options: Vec<String>,
}

/// A file list that cannot be read or names what does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileListError {
    /// The list at fault.
    pub list: PathBuf,
    pub message: String,
}

impl std::fmt::Display for FileListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.list.display(), self.message)
    }
}

impl std::error::Error for FileListError {}

impl FileList {
    /// An error if the list carries options, for a reader that cannot pass
    /// them on (`who` names it).
    pub fn refuse_options(&self, who: &str) -> Result<(), FileListError> {
        match self.options.first() {
            None => Ok(()),
            Some(o) => Err(FileListError {
                list: self.list.clone(),
                message: format!("option `{o}` is not supported by {who}"),
            }),
        }
    }
}

/// Reads `list` (normally `<root>/rtl/files.f`); paths in it are relative
/// to `root`.
pub fn read(root: &Path, list: &Path) -> Result<FileList, FileListError> {
    let mut out = FileList {
        list: list.to_path_buf(),
        ..FileList::default()
    };
    let mut seen = BTreeSet::new();
    parse(root, list, &mut out, &mut seen)?;
    if out.sources.is_empty() {
        return Err(FileListError {
            list: list.to_path_buf(),
            message: "lists no source files".into(),
        });
    }
    Ok(out)
}

fn parse(
    root: &Path,
    list: &Path,
    out: &mut FileList,
    seen: &mut BTreeSet<PathBuf>,
) -> Result<(), FileListError> {
    if !seen.insert(list.to_path_buf()) {
        return Ok(());
    }
    out.lists.push(list.to_path_buf());
    let err = |message: String| FileListError {
        list: list.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(list).map_err(|e| err(e.to_string()))?;
    let mut tokens = Vec::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        if line.trim_start().starts_with('#') {
            continue;
        }
        tokens.extend(line.split_whitespace().map(str::to_string));
    }
    let existing = |p: &str| -> Result<PathBuf, FileListError> {
        let path = root.join(p);
        if path.exists() {
            Ok(path)
        } else {
            Err(err(format!(
                "lists `{p}`, but {} does not exist",
                path.display()
            )))
        }
    };
    let mut it = tokens.into_iter();
    while let Some(tok) = it.next() {
        if let Some(dirs) = tok.strip_prefix("+incdir+") {
            for d in dirs.split('+').filter(|d| !d.is_empty()) {
                out.incdirs.push(existing(d)?);
            }
        } else if matches!(tok.as_str(), "-f" | "-F" | "-v" | "-y") {
            let arg = it
                .next()
                .ok_or_else(|| err(format!("`{tok}` without a path")))?;
            let path = existing(&arg)?;
            match tok.as_str() {
                "-y" => out.incdirs.push(path),
                "-v" => out.sources.push(path),
                _ => parse(root, &path, out, seen)?,
            }
        } else if tok.starts_with(['-', '+']) {
            out.options.push(tok);
        } else {
            out.sources.push(existing(&tok)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sources_includes_nested_lists_and_options() {
        let d = std::env::temp_dir().join(format!("tritium-filelist-{}", std::process::id()));
        std::fs::create_dir_all(d.join("inc")).unwrap();
        for f in ["a.sv", "b.sv", "c.sv"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        std::fs::write(d.join("sub.f"), "c.sv // nested\n-f top.f\n").unwrap();
        std::fs::write(
            d.join("top.f"),
            "# comment\na.sv +incdir+inc\n-f sub.f +define+X\n-v b.sv\n",
        )
        .unwrap();
        let l = read(&d, &d.join("top.f")).unwrap();
        assert_eq!(l.sources, [d.join("a.sv"), d.join("c.sv"), d.join("b.sv")]);
        assert_eq!(l.incdirs, [d.join("inc")]);
        assert_eq!(l.options, ["+define+X"]);
        assert_eq!(l.lists, [d.join("top.f"), d.join("sub.f")]);
        assert!(l
            .refuse_options("t")
            .unwrap_err()
            .to_string()
            .contains("+define+X"));
        std::fs::write(d.join("bad.f"), "a.sv\nmissing.sv\n").unwrap();
        let e = read(&d, &d.join("bad.f")).unwrap_err().to_string();
        assert!(e.contains("bad.f: lists `missing.sv`"), "{e}");
        std::fs::write(d.join("empty.f"), "// nothing\n").unwrap();
        assert!(read(&d, &d.join("empty.f")).is_err());
        std::fs::write(d.join("dangling.f"), "-f\n").unwrap();
        assert!(read(&d, &d.join("dangling.f")).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
