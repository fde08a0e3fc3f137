//! The standard-cell library of the `asic` family: a Liberty file read
//! for each cell's area and whether it stores state, so that an ASIC
//! netlist's cell counts (`stat -json` after `dfflibmap`/`abc -liberty`)
//! become an area in um^2 and a logic / flip-flop split.
//!
//! Yosys 0.23 neither reads gzipped Liberty files nor writes the area into
//! `stat -json` (only into its text output, which changes between
//! versions), so [`prepare`] unpacks a `.gz` library into the scratch
//! directory and the area is summed here: `sum(count * area)` over the
//! netlist's cells, the number `stat -liberty` prints as "Chip area".
//!
//! Only what the flow needs of the format is parsed: groups
//! `name (args) { ... }`, simple attributes `name : value ;` and complex
//! attributes `name (args) ;`, with `/* */` comments, quoted strings and
//! `\` line continuations. A cell is `cell (NAME) { area : A; ... }` inside
//! the `library` group; it is sequential if it holds an `ff`, `latch`,
//! `ff_bank` or `latch_bank` group.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::Resources;
use tritium_util::AtPath;

/// One cell of the library.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// `area` attribute (um^2 in SKY130 and most libraries).
    pub area: f64,
    /// Holds state (flip-flop or latch).
    pub sequential: bool,
}

/// The cells of a Liberty library, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellLibrary {
    /// `library (NAME)`.
    pub name: String,
    pub cells: BTreeMap<String, Cell>,
}

/// The default library, relative to the repository root: SKY130 HD,
/// typical corner, from the shared PDK folder next to the checkouts
/// (`../shared/pdk/README.md`; never copied into the repository).
pub const DEFAULT_LIBERTY: &str = "../shared/pdk/sky130_fd_sc_hd__tt_025C_1v80.lib.gz";

/// A library ready for Yosys: the path of the plain-text file Yosys reads
/// (the original, or its unpacked copy in the scratch directory) and the
/// parsed cells.
#[derive(Debug, Clone)]
pub struct PreparedLibrary {
    pub path: PathBuf,
    pub library: CellLibrary,
}

/// Reads `liberty` (plain or `.gz`), unpacking a gzipped file to
/// `<work_dir>/liberty/<name without .gz>`, and parses its cells.
pub fn prepare(liberty: &Path, work_dir: &Path) -> Result<PreparedLibrary> {
    let missing = |e: std::io::Error| Error::Liberty {
        path: liberty.to_path_buf(),
        message: format!(
            "{e}: the asic family needs a Liberty file (--liberty FILE; default {DEFAULT_LIBERTY} \
             relative to the repository root), or leave asic out of --families"
        ),
    };
    let file = std::fs::File::open(liberty).map_err(missing)?;
    let gz = liberty.extension().is_some_and(|e| e == "gz");
    let mut text = String::new();
    let read = if gz {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text)
    };
    read.map_err(|e| Error::Liberty {
        path: liberty.to_path_buf(),
        message: format!("cannot read{}: {e}", if gz { " (gzip)" } else { "" }),
    })?;
    let library = parse(&text).map_err(|message| Error::Liberty {
        path: liberty.to_path_buf(),
        message,
    })?;
    let path = if gz {
        let dir = work_dir.join("liberty");
        std::fs::create_dir_all(&dir).at(&dir)?;
        let stem = liberty
            .file_stem()
            .map_or("library.lib".into(), |s| s.to_string_lossy().to_string());
        let p = dir.join(stem);
        tritium_util::write_atomic(&p, text.as_bytes())?;
        p
    } else {
        liberty.canonicalize().at(liberty)?
    };
    Ok(PreparedLibrary { path, library })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Punct(char),
}

fn tokenize(text: &str) -> std::result::Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '/' if it.peek() == Some(&'*') => {
                it.next();
                let mut prev = ' ';
                loop {
                    match it.next() {
                        Some('/') if prev == '*' => break,
                        Some(ch) => prev = ch,
                        None => return Err("unterminated /* comment".into()),
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some('\\') => {
                            if let Some(ch) = it.next() {
                                if ch != '\n' && ch != '\r' {
                                    s.push(ch);
                                }
                            }
                        }
                        Some(ch) => s.push(ch),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Word(s));
            }
            '\\' => {} // line continuation
            '(' | ')' | '{' | '}' | ';' | ':' | ',' => out.push(Tok::Punct(c)),
            c if c.is_whitespace() => {}
            _ => {
                let mut s = String::from(c);
                while let Some(&ch) = it.peek() {
                    if ch.is_whitespace() || "(){};:,\"\\".contains(ch) {
                        break;
                    }
                    s.push(ch);
                    it.next();
                }
                out.push(Tok::Word(s));
            }
        }
    }
    Ok(out)
}

/// Parses the text of a Liberty file into its cells (see the module docs).
pub fn parse(text: &str) -> std::result::Result<CellLibrary, String> {
    let toks = tokenize(text)?;
    let mut lib = CellLibrary::default();
    // Stack of open groups: (group name, first argument).
    let mut stack: Vec<(String, String)> = Vec::new();
    // The cell being read: name, area, sequential.
    let mut cell: Option<(String, Option<f64>, bool)> = None;
    let mut i = 0;
    let word = |i: usize| match toks.get(i) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let punct = |i: usize, p: char| toks.get(i) == Some(&Tok::Punct(p));
    while i < toks.len() {
        if punct(i, '}') {
            let (group, arg) = stack.pop().ok_or("unbalanced `}`")?;
            if group == "cell" && stack.len() == 1 {
                let (name, area, sequential) = cell.take().ok_or("cell without state")?;
                debug_assert_eq!(name, arg);
                let area = area.ok_or(format!("cell {name} has no area"))?;
                lib.cells.insert(name, Cell { area, sequential });
            }
            i += 1;
            continue;
        }
        let name = word(i).ok_or(format!("expected a name, found {:?}", toks[i]))?;
        if punct(i + 1, ':') {
            // Simple attribute: name : value ;
            let value = word(i + 2).ok_or(format!("attribute {name} has no value"))?;
            if name == "area" && stack.len() == 2 {
                if let Some(c) = cell.as_mut() {
                    c.1 = Some(
                        value
                            .parse()
                            .map_err(|_| format!("area of {} is not a number: {value}", c.0))?,
                    );
                }
            }
            i += 3;
            while i < toks.len() && !punct(i, ';') && !punct(i, '}') {
                i += 1; // values in several tokens (expressions)
            }
            if punct(i, ';') {
                i += 1;
            }
        } else if punct(i + 1, '(') {
            // Group or complex attribute: name ( args ) { or ;
            let mut j = i + 2;
            let mut args = Vec::new();
            while j < toks.len() && !punct(j, ')') {
                if let Some(w) = word(j) {
                    args.push(w.to_string());
                }
                j += 1;
            }
            if j >= toks.len() {
                return Err(format!("unclosed `(` after {name}"));
            }
            j += 1;
            if punct(j, '{') {
                let arg = args.first().cloned().unwrap_or_default();
                if name == "library" && stack.is_empty() {
                    lib.name = arg.clone();
                }
                if name == "cell" && stack.len() == 1 {
                    cell = Some((arg.clone(), None, false));
                }
                if stack.len() == 2 && matches!(name, "ff" | "latch" | "ff_bank" | "latch_bank") {
                    if let Some(c) = cell.as_mut() {
                        c.2 = true;
                    }
                }
                stack.push((name.to_string(), arg));
                j += 1;
            } else if punct(j, ';') {
                j += 1;
            }
            i = j;
        } else {
            return Err(format!(
                "unexpected token after {name}: {:?}",
                toks.get(i + 1)
            ));
        }
    }
    if !stack.is_empty() {
        return Err(format!("{} group(s) not closed", stack.len()));
    }
    if lib.cells.is_empty() {
        return Err("no cells (not a Liberty library?)".into());
    }
    Ok(lib)
}

impl CellLibrary {
    /// Resources and area of a mapped netlist's cell counts: `luts` = logic
    /// cells (combinational library cells), `ffs` = sequential cells,
    /// `cells` = both. Errors on a cell the library does not have (an
    /// unmapped Yosys cell such as `$_DFF_P_` or `$mem_v2`).
    pub fn summarize(
        &self,
        cells: &BTreeMap<String, u64>,
    ) -> std::result::Result<(Resources, f64), String> {
        let mut r = Resources::default();
        let mut area = 0.0;
        for (name, &n) in cells {
            let c = self.cells.get(name).ok_or(format!(
                "cell {name} ({n}x) is not a cell of library {}",
                self.name
            ))?;
            if c.sequential {
                r.ffs += n;
            } else {
                r.luts += n;
            }
            r.cells += n;
            area += c.area * n as f64;
        }
        Ok((r, area))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = r#"
/* a comment { with braces } */
library ("tiny") {
    delay_model : table_lookup;
    capacitive_load_unit (1.0, "pf");
    lu_table_template ("t") { variable_1 : x; index_1 ("1, 2"); }
    cell ("nand2") {
        area : 3.75;
        pin ("A") { direction : input; }
        pin ("Y") { direction : output; function : "!(A&B)"; area : 99; }
    }
    cell (dff) {
        area : 2.0e1;
        ff ("IQ", "IQN") { next_state : "D"; clocked_on : "CLK"; }
        pin (Q) { function : "IQ"; }
    }
    cell ("long") { \
        area : 1.5 ; }
}
"#;

    #[test]
    fn cells_areas_and_state() {
        let lib = parse(LIB).unwrap();
        assert_eq!(lib.name, "tiny");
        assert_eq!(lib.cells.len(), 3);
        let c = |n: &str| lib.cells[n];
        assert_eq!(
            c("nand2"),
            Cell {
                area: 3.75,
                sequential: false
            }
        );
        assert_eq!(
            c("dff"),
            Cell {
                area: 20.0,
                sequential: true
            }
        );
        assert_eq!(c("long").area, 1.5);
        let cells: BTreeMap<String, u64> =
            [("nand2".to_string(), 4), ("dff".to_string(), 2)].into();
        let (r, area) = lib.summarize(&cells).unwrap();
        assert_eq!((r.luts, r.ffs, r.cells), (4, 2, 6));
        assert_eq!(area, 4.0 * 3.75 + 2.0 * 20.0);
        let unmapped: BTreeMap<String, u64> = [("$_DFF_P_".to_string(), 1)].into();
        assert!(lib.summarize(&unmapped).unwrap_err().contains("$_DFF_P_"));
    }

    #[test]
    fn malformed_libraries_are_errors() {
        for bad in [
            "",
            "library (x) { }",
            "library (x) { cell (a) { area : 1; }",
            "library (x) { cell (a) { pin (A) { } } }",
            "library (x) { cell (a) { area : big; } }",
            "/* open",
            "library (x) { cell (a) { area : 1; } } }",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prepare_unpacks_gzip_and_reports_a_missing_file() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("tiny.lib.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(LIB.as_bytes()).unwrap();
        enc.finish().unwrap();
        let p = prepare(&gz, &dir.path().join("work")).unwrap();
        assert_eq!(p.path, dir.path().join("work/liberty/tiny.lib"));
        assert_eq!(std::fs::read_to_string(&p.path).unwrap(), LIB);
        assert_eq!(p.library.cells.len(), 3);
        let e = prepare(&dir.path().join("none.lib"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.lib") && e.contains("--liberty"), "{e}");
    }
}
