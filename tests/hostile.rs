//! The hostile-input corpus: one file per case in tests/hostile/*.toml, run
//! against the `tritium` binary. Every case names an input (or how to make
//! it from a fixture), the command, the exit status and fragments of the
//! message it expects; on top, every run is checked for what must never
//! happen: a panic, a death by signal (abort), a hang (a timeout), or a
//! change to a file the case protects.
//!
//! A case file:
//! ```toml
//! what = "cosim --layer with a K near u64::MAX"
//! fixture = "hf"            # none (default) | hf | gguf | gguf-tq2: copied to $DIR/model[.gguf]
//! args = ["cosim", "--layer", "--k", "18446744073709551615"]
//! exit = 1                  # expected status (default 1)
//! stderr = ["--k"]          # fragments that must all appear
//! stdout = "pipe"           # pipe (default) | closed | full
//! unchanged = ["model/model.safetensors"]   # relative to $DIR
//! [[edit]]                  # edits applied to $DIR before the run, in order
//! op = "json"               # json | truncate | write | patch | fifo | mkdir | remove | symlink | gguf_meta | st_header | st_data | st_rename
//! file = "model/config.json"
//! pointer = "/num_hidden_layers"
//! value = 10000000
//! ```
//! `$DIR` in args and values is the case's own scratch directory.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    what: String,
    #[serde(default)]
    fixture: Option<String>,
    args: Vec<String>,
    #[serde(default = "one")]
    exit: i32,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    stdout_has: Vec<String>,
    #[serde(default)]
    stdout: Option<String>,
    #[serde(default)]
    unchanged: Vec<String>,
    #[serde(default)]
    edit: Vec<Edit>,
    #[serde(default = "timeout")]
    timeout_s: u64,
}

fn one() -> i32 {
    1
}
fn timeout() -> u64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    op: String,
    file: String,
    #[serde(default)]
    pointer: Option<String>,
    #[serde(default)]
    value: Option<toml::Value>,
    #[serde(default)]
    remove: bool,
    #[serde(default)]
    len: Option<u64>,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    hex: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tritium")
}

/// The fixtures, made once: a tiny HF packed checkpoint, its I2_S GGUF and a
/// TQ2_0 GGUF of the tiny256 preset.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d =
            std::env::temp_dir().join(format!("tritium-hostile-fixtures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let gen = |args: &[&str]| {
            let st = Command::new(bin())
                .arg("gen-model")
                .args(args)
                .status()
                .unwrap();
            assert!(st.success(), "gen-model {args:?}");
        };
        let p = |n: &str| d.join(n).to_str().unwrap().to_string();
        gen(&["--preset", "tiny", "--out", &p("hf")]);
        gen(&["--format", "gguf-i2s", "--out", &p("tiny.gguf")]);
        gen(&[
            "--preset",
            "tiny256",
            "--format",
            "gguf-tq2",
            "--out",
            &p("tq2.gguf"),
        ]);
        d
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn subst(s: &str, dir: &Path) -> String {
    s.replace("$DIR", dir.to_str().unwrap())
}

fn to_json(v: &toml::Value, dir: &Path) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(subst(s, dir)),
        toml::Value::Integer(i) => serde_json::json!(i),
        toml::Value::Float(f) => serde_json::json!(f),
        toml::Value::Boolean(b) => serde_json::json!(b),
        toml::Value::Array(a) => a.iter().map(|x| to_json(x, dir)).collect(),
        toml::Value::Table(t) => t
            .iter()
            .map(|(k, x)| (k.clone(), to_json(x, dir)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
    }
}

/// Sets (or removes) the value at a JSON pointer, creating the last key.
fn json_edit(doc: &mut serde_json::Value, pointer: &str, value: Option<serde_json::Value>) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer starts with /");
    let obj = doc
        .pointer_mut(parent)
        .and_then(|p| p.as_object_mut())
        .unwrap_or_else(|| panic!("no object at {parent}"));
    match value {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.remove(key);
        }
    }
}

fn apply(e: &Edit, dir: &Path) {
    let path = dir.join(&e.file);
    let value = e.value.as_ref().map(|v| to_json(v, dir));
    match e.op.as_str() {
        "json" => {
            let mut doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let v = if e.remove { None } else { value };
            json_edit(&mut doc, e.pointer.as_deref().unwrap(), v);
            std::fs::write(&path, doc.to_string()).unwrap();
        }
        "truncate" => {
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(e.len.unwrap()).unwrap();
        }
        "write" => std::fs::write(&path, subst(e.text.as_deref().unwrap_or(""), dir)).unwrap(),
        "patch" => {
            let mut b = std::fs::read(&path).unwrap();
            let hex = e.hex.as_deref().unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let at = e.offset.unwrap() as usize;
            b[at..at + bytes.len()].copy_from_slice(&bytes);
            std::fs::write(&path, b).unwrap();
        }
        "fifo" => {
            let _ = std::fs::remove_file(&path);
            assert!(Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap()
                .success());
        }
        "mkdir" => {
            let _ = std::fs::remove_file(&path);
            std::fs::create_dir_all(&path).unwrap();
        }
        "remove" => std::fs::remove_file(&path).unwrap(),
        "symlink" => {
            let _ = std::fs::remove_file(&path);
            std::os::unix::fs::symlink(subst(e.target.as_deref().unwrap(), dir), &path).unwrap();
        }
        "gguf_meta" => gguf_meta(&path, e.key.as_deref().unwrap(), value.as_ref(), e.remove),
        "st_header" => st_header(&path, e.pointer.as_deref().unwrap(), value, e.remove),
        "st_data" => st_data(&path, e.key.as_deref().unwrap(), e.hex.as_deref().unwrap()),
        "st_rename" => st_rename(
            &path,
            e.key.as_deref().unwrap(),
            e.target.as_deref().unwrap(),
        ),
        other => panic!("unknown edit op {other}"),
    }
}

/// Rewrites a GGUF file with one metadata key set (to a u64, a string or an
/// f32 per the JSON value's kind) or removed.
fn gguf_meta(path: &Path, key: &str, value: Option<&serde_json::Value>, remove: bool) {
    use tritium_model::gguf::writer::{GgufWriter, RawTensor};
    use tritium_model::gguf::{GgufFile, Value};
    let f = GgufFile::from_bytes(path, std::fs::read(path).unwrap()).unwrap();
    let mut w = GgufWriter {
        metadata: f.header.metadata.clone(),
        tensors: f
            .header
            .tensors
            .iter()
            .map(|t| RawTensor {
                name: t.name.clone(),
                dims: t.dims.clone(),
                type_id: t.ty.id(),
                bytes: f.data(t).to_vec(),
            })
            .collect(),
        alignment: f.header.alignment,
    };
    if remove {
        w.metadata.retain(|(k, _)| {
            !(k == key || (key.ends_with('*') && k.starts_with(&key[..key.len() - 1])))
        });
    } else {
        let v = match value.unwrap() {
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Number(n) if n.is_u64() => Value::U64(n.as_u64().unwrap()),
            serde_json::Value::Number(n) => Value::F32(n.as_f64().unwrap() as f32),
            other => panic!("gguf_meta value {other}"),
        };
        w.set(key, v);
    }
    std::fs::write(path, w.to_bytes()).unwrap();
}

/// Rewrites a safetensors file's JSON header with `f`, keeping the data.
fn rewrite_header(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let mut h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    f(&mut h);
    let text = h.to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text.as_bytes());
    out.extend(&b[8 + n..]);
    std::fs::write(path, out).unwrap();
}

/// Sets or removes the value at `pointer` of a safetensors header (e.g.
/// `/model.norm.weight/data_offsets`).
fn st_header(path: &Path, pointer: &str, value: Option<serde_json::Value>, remove: bool) {
    rewrite_header(path, |h| {
        json_edit(h, pointer, if remove { None } else { value })
    });
}

/// Renames tensor `from` to `to` in a safetensors header (its data and
/// offsets unchanged).
fn st_rename(path: &Path, from: &str, to: &str) {
    rewrite_header(path, |h| {
        let obj = h.as_object_mut().unwrap();
        let v = obj.remove(from).unwrap();
        obj.insert(to.to_string(), v);
    });
}

/// Overwrites the first bytes of tensor `name`'s data in a safetensors file.
fn st_data(path: &Path, name: &str, hex: &str) {
    let mut b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    let start = h[name]["data_offsets"][0].as_u64().unwrap() as usize + 8 + n;
    for (i, at) in (0..hex.len()).step_by(2).enumerate() {
        b[start + i] = u8::from_str_radix(&hex[at..at + 2], 16).unwrap();
    }
    std::fs::write(path, b).unwrap();
}

fn digest(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// Runs one case; returns what went wrong, if anything.
fn run_case(name: &str, c: &Case) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("tritium-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    match c.fixture.as_deref() {
        None | Some("none") => {}
        Some("hf") => copy_dir(&fixtures().join("hf"), &dir.join("model")),
        Some("gguf") => {
            std::fs::copy(fixtures().join("tiny.gguf"), dir.join("model.gguf")).unwrap();
        }
        Some("gguf-tq2") => {
            std::fs::copy(fixtures().join("tq2.gguf"), dir.join("model.gguf")).unwrap();
        }
        Some(other) => return Err(format!("unknown fixture {other}")),
    }
    for e in &c.edit {
        apply(e, &dir);
    }
    let protected: BTreeMap<&String, Option<Vec<u8>>> = c
        .unchanged
        .iter()
        .map(|f| (f, digest(&dir.join(f))))
        .collect();
    let args: Vec<String> = c.args.iter().map(|a| subst(a, &dir)).collect();
    let mut cmd = Command::new(bin());
    cmd.args(&args).stdin(Stdio::null()).stderr(Stdio::piped());
    match c.stdout.as_deref() {
        None | Some("pipe") => {
            cmd.stdout(Stdio::piped());
        }
        Some("closed") => {
            cmd.stdout(Stdio::piped());
        }
        Some("full") => {
            cmd.stdout(std::fs::File::create("/dev/full").unwrap());
        }
        Some(other) => return Err(format!("unknown stdout {other}")),
    }
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let mut out_pipe = child.stdout.take();
    if c.stdout.as_deref() == Some("closed") {
        drop(out_pipe.take()); // the reader goes away at once
    }
    let mut err_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let limit = Duration::from_secs(c.timeout_s);
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "HANG: still running after {} s: {args:?}",
                c.timeout_s
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let mut problems = Vec::new();
    if status.code().is_none() {
        use std::os::unix::process::ExitStatusExt;
        problems.push(format!("killed by signal {:?} (abort?)", status.signal()));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        problems.push("PANIC".into());
    }
    if status.code() != Some(c.exit) {
        problems.push(format!("exit {:?}, expected {}", status.code(), c.exit));
    }
    for f in &c.stderr {
        if !stderr.contains(&subst(f, &dir)) {
            problems.push(format!("stderr lacks {f:?}"));
        }
    }
    for f in &c.stdout_has {
        if !stdout.contains(f.as_str()) {
            problems.push(format!("stdout lacks {f:?}"));
        }
    }
    for (f, before) in &protected {
        if digest(&dir.join(f)) != *before {
            problems.push(format!("DATA LOSS: {f} changed"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} ({args:?}):\n    {}\n    stderr: {}",
            c.what,
            problems.join("\n    "),
            stderr.trim().replace('\n', "\n            ")
        ))
    }
}

#[test]
fn hostile_input_corpus() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus has {} cases", files.len());
    let cases: Vec<(String, Case)> = files
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(p).unwrap();
            let case = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, case)
        })
        .collect();
    fixtures();
    // Two at a time: the cases are independent processes.
    let failures: Vec<String> = std::thread::scope(|s| {
        let chunks: Vec<Vec<&(String, Case)>> = (0..2)
            .map(|i| cases.iter().skip(i).step_by(2).collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .filter_map(|(n, c)| run_case(n, c).err().map(|e| format!("{n}: {e}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let _ = std::fs::remove_dir_all(fixtures());
    assert!(
        failures.is_empty(),
        "{} of {} hostile-input cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} hostile-input cases passed", cases.len());
}
