//! Build keys of sim/build.rs: every library in `$OUT_DIR` is recorded with
//! a stable hash of everything that went into it, and rebuilt when that
//! differs.

use std::fs;
use std::path::{Path, PathBuf};

/// FNV-1a, 64 bits: a stable hash (the same on every Rust version, unlike
/// `DefaultHasher`), ample for telling build inputs apart.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        // Length first, so that concatenations cannot collide.
        for x in (b.len() as u64).to_le_bytes().iter().chain(b) {
            self.0 = (self.0 ^ u64::from(*x)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// Digest of the files' paths and contents, in order.
pub fn digest_files<'a>(paths: impl Iterator<Item = &'a PathBuf>) -> Result<u64, String> {
    let mut h = Fnv::new();
    for p in paths {
        h.bytes(p.display().to_string().as_bytes());
        h.bytes(&fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    Ok(h.0)
}

/// Digest of the files' contents and of their paths relative to `root`
/// (the file name where a path is outside it), in order: the same for
/// every checkout of one tree. Exported to the crate as
/// `TRITIUM_RTL_DIGEST` (`tritium_sim::RTL_DIGEST`).
pub fn digest_tree<'a>(
    root: &Path,
    paths: impl Iterator<Item = &'a PathBuf>,
) -> Result<u64, String> {
    let mut h = Fnv::new();
    for p in paths {
        let name = p
            .strip_prefix(root)
            .ok()
            .or_else(|| p.file_name().map(Path::new))
            .unwrap_or(p);
        h.bytes(name.display().to_string().as_bytes());
        h.bytes(&fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    Ok(h.0)
}

/// Where the key a library was built with is recorded.
fn key_file(out_dir: &Path, lib: &str) -> PathBuf {
    out_dir.join(format!("{lib}.key"))
}

/// True if every output of `lib` exists and was built with `key` (compared
/// by its stable hash, recorded next to the library).
pub fn up_to_date(out_dir: &Path, lib: &str, key: &str, outputs: &[PathBuf]) -> bool {
    outputs.iter().all(|p| p.is_file())
        && fs::read_to_string(key_file(out_dir, lib)).ok() == Some(key_digest(key))
}

/// Records that `lib` was built with `key`.
pub fn record_key(out_dir: &Path, lib: &str, key: &str) -> Result<(), String> {
    let p = key_file(out_dir, lib);
    fs::write(&p, key_digest(key)).map_err(|e| format!("{}: {e}", p.display()))
}

fn key_digest(key: &str) -> String {
    let mut h = Fnv::new();
    h.bytes(key.as_bytes());
    format!("{:016x}", h.0)
}
