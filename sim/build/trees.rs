//! Which RTL tree each model of sim/build.rs is built from: the
//! repository's, or the one of `TRITIUM_RTL_ROOT` (all models, or only
//! those `TRITIUM_RTL_ROOT_MODELS` names: the mutation campaign rebuilds
//! only the models a mutant touches).

use std::collections::BTreeSet;

/// Per model (`names`): is it built from `TRITIUM_RTL_ROOT`'s tree (`alt`:
/// that knob is set)? All are, unless `only` (`TRITIUM_RTL_ROOT_MODELS`,
/// comma-separated) names some; each name must be a model.
pub fn from_alt_root(names: &[&str], alt: bool, only: Option<&str>) -> Result<Vec<bool>, String> {
    let Some(list) = only else {
        return Ok(vec![alt; names.len()]);
    };
    if !alt {
        return Err("TRITIUM_RTL_ROOT_MODELS is set but TRITIUM_RTL_ROOT is not".into());
    }
    let chosen: BTreeSet<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if let Some(bad) = chosen.iter().find(|n| !names.contains(n)) {
        return Err(format!(
            "TRITIUM_RTL_ROOT_MODELS: no model `{bad}` (models: {})",
            names.join(", ")
        ));
    }
    Ok(names.iter().map(|n| chosen.contains(n)).collect())
}
