//! Writing a report's files: report.json, report.md and the plots.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::markdown::markdown;
use crate::report::Report;
use tritium_util::AtPath;

/// Where `write` put things.
pub struct Written {
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub plots: Vec<PathBuf>,
}

/// The names of the files [`write()`] writes into its directory.
pub fn file_names(plots: bool) -> Vec<String> {
    let mut names = vec!["report.json".to_string(), "report.md".to_string()];
    if plots {
        for (_, stem) in crate::plots::PLOTS {
            names.push(format!("{stem}.svg"));
            names.push(format!("{stem}.png"));
        }
    }
    names
}

/// Writes report.json, report.md and (unless `plots` is false) the plots
/// as SVG and PNG into `dir`.
pub fn write(r: &Report, dir: &Path, plots: bool) -> Result<Written> {
    std::fs::create_dir_all(dir).at(dir)?;
    let mut files = Vec::new();
    let mut refs = Vec::new();
    if plots {
        for (title, stem) in crate::plots::PLOTS {
            crate::plots::draw(r, stem, dir)?;
            files.push(dir.join(format!("{stem}.svg")));
            files.push(dir.join(format!("{stem}.png")));
            refs.push((*title, *stem));
        }
    }
    let names: Vec<(String, String)> = refs
        .iter()
        .map(|(t, s)| (t.to_string(), format!("{s}.svg")))
        .collect();
    let names_ref: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let json = dir.join("report.json");
    let text = to_json(r)?;
    tritium_util::write_atomic(&json, text.as_bytes())?;
    let md = dir.join("report.md");
    tritium_util::write_atomic(&md, markdown(r, &names_ref).as_bytes())?;
    Ok(Written {
        json,
        markdown: md,
        plots: files,
    })
}

/// report.json's text (pretty, with a final newline).
pub fn to_json(r: &Report) -> Result<String> {
    let mut s = serde_json::to_string_pretty(r).map_err(Error::Json)?;
    s.push('\n');
    Ok(s)
}
