//! Mutators for JSON text, shared by the `config` target (`config.json`)
//! and the `safetensors` target (the JSON header of a shard):
//!
//! - structure-aware edits of a parsed [`Value`] ([`replace_value`],
//!   [`edit_object`]), rendered back to text by [`render`], which can also
//!   write what a `Value` cannot hold: numbers beyond u64/i64/f64
//!   (`18446744073709551616`, `1e400`), non-JSON tokens (`NaN`, `0x10`) and
//!   duplicate keys (see [`raw`] and [`dup_key`]);
//! - byte-level edits of the text ([`mutate_text`]): bit flips, JSON
//!   punctuation set or inserted, ranges deleted or repeated, numbers
//!   replaced by boundary values, truncation, invalid UTF-8.

use serde_json::{json, Map, Value};
use tritium_golden::SplitMix64 as Rng;

use super::{below, pick};

/// Marks a string that [`render`] writes without quotes (a raw token).
const RAW: &str = "\u{1}RAW:";
/// Marks a key that [`render`] writes without the mark, so it may repeat
/// a key of the same object.
const DUP: &str = "\u{1}DUP:";

/// A value [`render`] writes as the raw JSON (or non-JSON) text `token`
/// (which must hold no `"` or `\`).
pub fn raw(token: &str) -> Value {
    Value::String(format!("{RAW}{token}"))
}

/// A key [`render`] writes as `key`, even if the object already has it.
pub fn dup_key(key: &str) -> String {
    format!("{DUP}{key}")
}

/// `v` as JSON text (pretty or compact), raw tokens and duplicate keys
/// written as such.
pub fn render(v: &Value, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(v).unwrap_or_default()
    } else {
        v.to_string()
    };
    // serde_json escapes the \u{1} of the marks as \u0001.
    let (raw_mark, dup_mark) = ("\"\\u0001RAW:", "\"\\u0001DUP:");
    let text = text.replace(dup_mark, "\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(raw_mark) {
        out.push_str(&rest[..at]);
        let after = &rest[at + raw_mark.len()..];
        let end = after.find('"').unwrap_or(after.len());
        out.push_str(&after[..end]);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Raw numeric tokens at and beyond the limits of u64, i64 and f64, and
/// tokens JSON does not allow.
const RAW_TOKENS: [&str; 16] = [
    "18446744073709551616",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "1E2",
    "0x10",
    "NaN",
    "Infinity",
    "-Infinity",
    "01",
    "1.",
    ".5",
    "+1",
];

/// Integers at the boundaries tritium and its dependencies check against:
/// 0 and 1, powers of two around u16/u32/2^20 (MAX_DIM)/2^24/2^53, i64
/// and u64 limits, MAX_LAYERS and the safetensors header limit.
pub const BOUNDARY_INTS: [u64; 24] = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    255,
    256,
    1024,
    1025,
    65_536,
    1 << 20,
    (1 << 20) + 1,
    1 << 24,
    (1 << 24) + 1,
    100_000_000,
    (1 << 31) - 1,
    1 << 31,
    1 << 32,
    (1 << 32) + 1,
    (1 << 53) + 1,
    1 << 63,
    u64::MAX,
];

/// An extreme or wrong-typed value: boundary integers (also negative), the
/// old value nudged (`±1`, doubled, halved, negated, as a string), floats
/// (0, -0, tiny, huge, fractional), raw tokens (`NaN`, `1e400`, ...),
/// strings (empty, numeric, names other fields expect, long), booleans,
/// null, arrays and nested objects.
pub fn extreme_value(rng: &mut Rng, old: &Value) -> Value {
    let n = old.as_u64().or_else(|| old.as_f64().map(|f| f as u64));
    match below(rng, 12) {
        0 | 1 => json!(pick(rng, &BOUNDARY_INTS)),
        2 => {
            let n = -i128::from(pick(rng, &BOUNDARY_INTS));
            json!(n.max(i128::from(i64::MIN)) as i64)
        }
        3 => match n {
            Some(n) => match below(rng, 6) {
                0 => json!(n.wrapping_add(1)),
                1 => json!(n.saturating_sub(1)),
                2 => json!(n.wrapping_mul(2)),
                3 => json!(n / 2),
                4 => json!(-(n.min(i64::MAX as u64) as i64)),
                _ => json!(n.to_string()),
            },
            None => json!(pick(rng, &BOUNDARY_INTS)),
        },
        4 => json!(pick(
            rng,
            &[
                0.0,
                -0.0,
                0.5,
                1.5,
                -1.0,
                1e-30,
                1e30,
                f64::MAX,
                f64::MIN_POSITIVE,
                5e-324,
                1e-5,
                500_000.0,
            ]
        )),
        5 => raw(pick(rng, &RAW_TOKENS)),
        6 => json!(pick(
            rng,
            &[
                "",
                "0",
                "1",
                "NaN",
                "inf",
                "-1",
                "bitnet",
                "relu2",
                "offline",
                "online",
                "autobitlinear",
                "bitlinear",
                "BF16",
                "U8",
                "\u{fffd}\u{0}"
            ]
        )),
        7 => json!("x".repeat(1 + below(rng, 4096))),
        8 => json!(below(rng, 2) == 1),
        9 => Value::Null,
        10 => match below(rng, 5) {
            0 => json!([]),
            1 => json!([0]),
            2 => json!([1, 2, 3]),
            3 => json!([null, "a", {}]),
            _ => json!([u64::MAX, u64::MAX]),
        },
        _ => nested(rng),
    }
}

/// A nested object or array, up to 200 levels deep (beyond serde_json's
/// recursion limit of 128).
fn nested(rng: &mut Rng) -> Value {
    let depth = pick(rng, &[1usize, 2, 5, 127, 128, 129, 200]);
    let mut v = json!({});
    for d in 0..depth {
        v = if d % 2 == 0 {
            json!({ "a": v })
        } else {
            json!([v])
        };
    }
    v
}

/// A path to one value inside `v` (object keys and array indices), chosen
/// uniformly among all values; the empty path is `v` itself.
pub fn random_path(rng: &mut Rng, v: &Value) -> Vec<PathStep> {
    let mut all = Vec::new();
    collect_paths(v, &mut Vec::new(), &mut all);
    all.swap_remove(below(rng, all.len()))
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

fn collect_paths(v: &Value, here: &mut Vec<PathStep>, all: &mut Vec<Vec<PathStep>>) {
    all.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                here.push(PathStep::Key(k.clone()));
                collect_paths(c, here, all);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                here.push(PathStep::Index(i));
                collect_paths(c, here, all);
                here.pop();
            }
        }
        _ => {}
    }
}

/// The value at `path` inside `v`.
pub fn at_path<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        PathStep::Key(k) => v.get_mut(k.as_str()),
        PathStep::Index(i) => v.get_mut(*i),
    })
}

/// Replaces one value anywhere in `v` (chosen by [`random_path`]) by an
/// [`extreme_value`].
pub fn replace_value(rng: &mut Rng, v: &mut Value) {
    let path = random_path(rng, v);
    if let Some(slot) = at_path(v, &path) {
        *slot = extreme_value(rng, slot);
    }
}

/// An edit of the keys of object `m`: remove a key, rename one (to a
/// near miss or to one of `names`), add a key from `names` (a field the
/// reader knows, with an extreme value), duplicate one (same or other
/// value), or swap the values of two keys.
pub fn edit_object(rng: &mut Rng, m: &mut Map<String, Value>, names: &[&str]) {
    let keys: Vec<String> = m.keys().cloned().collect();
    let key = (!keys.is_empty()).then(|| keys[below(rng, keys.len())].clone());
    match (below(rng, 5), key) {
        (0, Some(k)) => {
            m.remove(&k);
        }
        (1, Some(k)) => {
            let v = m.remove(&k).unwrap_or(Value::Null);
            let new = match below(rng, 5) {
                0 => k.to_uppercase(),
                1 => format!("{k}_"),
                2 => k.chars().take(k.chars().count() / 2).collect(),
                3 => String::new(),
                _ => pick(rng, names).to_string(),
            };
            m.insert(new, v);
        }
        (2, Some(k)) => {
            let v = m.get(&k).cloned().unwrap_or(Value::Null);
            let v = if below(rng, 2) == 0 {
                v
            } else {
                extreme_value(rng, &v)
            };
            m.insert(dup_key(&k), v);
        }
        (3, Some(k)) => {
            let other = keys[below(rng, keys.len())].clone();
            let a = m.get(&k).cloned();
            let b = m.get(&other).cloned();
            if let (Some(a), Some(b)) = (a, b) {
                m.insert(k, b);
                m.insert(other, a);
            }
        }
        _ => {
            let k = pick(rng, names).to_string();
            let old = m.get(&k).cloned().unwrap_or(Value::Null);
            m.insert(k, extreme_value(rng, &old));
        }
    }
}

/// Characters that matter to a JSON parser.
const JSON_CHARS: &[u8] = b"{}[]:,\"-+.0123456789eE \\ntfu\n";

/// Number texts at boundaries (written over a run of digits).
const NUMBER_TEXTS: [&str; 10] = [
    "0",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "4294967296",
    "1048577",
    "1e400",
    "1025",
    "99999999999999999999999999999999999999999999999999",
    "-0.0",
];

/// 1..=4 byte-level edits of JSON text `b`: a bit flipped, a byte set to a
/// random value or to JSON punctuation, punctuation inserted, a range
/// deleted or repeated, a run of digits replaced by a boundary number,
/// truncation, or invalid UTF-8 inserted.
pub fn mutate_text(rng: &mut Rng, b: &mut Vec<u8>) {
    for _ in 0..1 + below(rng, 4) {
        if b.is_empty() {
            b.push(pick(rng, JSON_CHARS));
            continue;
        }
        let len = b.len();
        let pos = below(rng, len);
        match below(rng, 9) {
            0 => b[pos] ^= 1 << below(rng, 8),
            1 => b[pos] = rng.next_u64() as u8,
            2 => b[pos] = pick(rng, JSON_CHARS),
            3 => b.insert(pos, pick(rng, JSON_CHARS)),
            4 => {
                let n = (1 + below(rng, 16)).min(len - pos);
                b.drain(pos..pos + n);
            }
            5 => {
                let n = (1 + below(rng, 64)).min(len - pos);
                let chunk = b[pos..pos + n].to_vec();
                let at = below(rng, len + 1);
                b.splice(at..at, chunk);
            }
            6 => {
                // The run of digits at or after `pos`, if any.
                let Some(start) = b[pos..].iter().position(u8::is_ascii_digit) else {
                    continue;
                };
                let start = pos + start;
                let end = b[start..]
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .map_or(len, |e| start + e);
                let text = pick(rng, &NUMBER_TEXTS).as_bytes().to_vec();
                b.splice(start..end, text);
            }
            7 => b.truncate(pos),
            _ => {
                let bad: &[u8] = pick(rng, &[&[0xff][..], &[0xc3], &[0xed, 0xa0, 0x80], &[0]]);
                b.splice(pos..pos, bad.iter().copied());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_writes_raw_tokens_and_duplicate_keys() {
        let mut m = Map::new();
        m.insert("a".into(), raw("1e400"));
        m.insert(dup_key("a"), json!([raw("NaN"), 2]));
        let text = render(&Value::Object(m), false);
        assert!(text.contains("\"a\":1e400"), "{text}");
        assert!(text.contains("\"a\":[NaN,2]"), "{text}");
        assert!(
            !text.contains('\u{1}') && !text.contains("\\u0001"),
            "{text}"
        );
    }

    #[test]
    fn every_value_can_be_reached() {
        let v = json!({"a": [1, {"b": 2}], "c": 3});
        let mut all = Vec::new();
        collect_paths(&v, &mut Vec::new(), &mut all);
        assert_eq!(all.len(), 6);
        let mut v2 = v.clone();
        let p = vec![
            PathStep::Key("a".into()),
            PathStep::Index(1),
            PathStep::Key("b".into()),
        ];
        assert_eq!(at_path(&mut v2, &p), Some(&mut json!(2)));
    }
}
