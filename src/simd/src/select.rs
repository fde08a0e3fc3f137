//! Which kernel path and how many threads: the names users and CI give
//! (`--kernel`, `TRITIUM_KERNEL`, `TRITIUM_REQUIRE_KERNELS`, `--threads`),
//! checked against this CPU with errors that name what is missing.

use crate::{Error, Isa, Result};

/// The most worker threads the engine starts: 4 per core of this machine
/// (more only adds switching; a number in the thousands would exhaust the
/// process's memory or thread limit).
pub fn max_threads() -> usize {
    4 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks a thread count against `1..=max_threads()`.
pub fn check_threads(threads: usize) -> Result<()> {
    let max = max_threads();
    match threads {
        0 => Err(Error::ZeroThreads),
        n if n > max => Err(Error::TooManyThreads { threads: n, max }),
        _ => Ok(()),
    }
}

/// The kernel path from `TRITIUM_KERNEL`, if set.
pub fn isa_from_env() -> Result<Option<Isa>> {
    match std::env::var("TRITIUM_KERNEL") {
        Ok(s) if !s.is_empty() => parse_isa(&s).map(Some),
        _ => Ok(None),
    }
}

/// Env variable: the kernel paths this machine must have, comma-separated
/// (`avx2,avx512`). CI sets it to the paths of its machine class.
pub const ENV_REQUIRE_KERNELS: &str = "TRITIUM_REQUIRE_KERNELS";

/// The paths named by [`ENV_REQUIRE_KERNELS`] (unset or empty: none), each
/// a known path name; whether the CPU has them is [`present_kernels`]'s.
pub fn required_kernels() -> Result<Vec<Isa>> {
    parse_kernel_list(&std::env::var(ENV_REQUIRE_KERNELS).unwrap_or_default())
}

/// The kernel paths to check on this machine: [`Isa::present`], once every
/// path of [`required_kernels`] is found among them. Tests loop over these,
/// so a required path cannot be skipped silently: it is an error naming the
/// path and the CPU features it lacks.
pub fn present_kernels() -> Result<Vec<Isa>> {
    let present = Isa::present();
    check_required(&required_kernels()?, &present)?;
    Ok(present)
}

/// A comma-separated list of path names (blanks around names ignored).
fn parse_kernel_list(list: &str) -> Result<Vec<Isa>> {
    let mut paths = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let isa = Isa::from_name(name).ok_or_else(|| Error::UnknownRequiredKernel {
            name: name.to_string(),
        })?;
        if !paths.contains(&isa) {
            paths.push(isa);
        }
    }
    Ok(paths)
}

/// The first path of `required` that is not `present`, as an error.
fn check_required(required: &[Isa], present: &[Isa]) -> Result<()> {
    match required.iter().find(|i| !present.contains(i)) {
        None => Ok(()),
        Some(isa) => Err(Error::RequiredKernelMissing {
            name: isa.name(),
            needs: isa.features(),
            present: present
                .iter()
                .map(|i| i.name())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// A rayon pool of `threads` threads (for measurements that size their own).
pub(crate) fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::threads(threads, e))
}

/// Parses a kernel name and checks that this CPU has it.
pub fn parse_isa(s: &str) -> Result<Isa> {
    let isa = Isa::from_name(s).ok_or_else(|| Error::UnknownKernel {
        name: s.to_string(),
    })?;
    if !isa.available() {
        let present: Vec<&str> = Isa::present().iter().map(|i| i.name()).collect();
        return Err(Error::KernelUnavailable {
            name: s.to_string(),
            present: present.join(", "),
        });
    }
    Ok(isa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_lists_parse_and_reject_unknown_names() {
        assert_eq!(parse_kernel_list("").unwrap(), []);
        assert_eq!(
            parse_kernel_list(" avx2, avx512,,avx2 ").unwrap(),
            [Isa::Avx2, Isa::Avx512]
        );
        let e = parse_kernel_list("avx2,avx512vnni")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TRITIUM_REQUIRE_KERNELS") && e.contains("`avx512vnni`"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_required_path_is_named_with_its_features() {
        let present = [Isa::Scalar, Isa::Avx2];
        assert!(check_required(&[Isa::Avx2, Isa::Scalar], &present).is_ok());
        let e = check_required(&[Isa::Avx2, Isa::Avx512], &present)
            .unwrap_err()
            .to_string();
        assert!(e.contains("kernel `avx512` is required"), "{e}");
        assert!(
            e.contains("avx512vnni") && e.contains("present: scalar, avx2"),
            "{e}"
        );
    }
}
