//! Flags that mean something in one mode of their command only (a backend,
//! single-layer co-simulation, one direction of `convert`, ...) are refused
//! in the others. A flag that is given and then silently ignored is a run
//! the user did not ask for: `cosim --k 2560` without `--layer` would
//! co-simulate the whole preset network, `infer --config kv260` on the SIMD
//! engine would never touch the accelerator.
//!
//! Each command lists its rules ([`Needs`]) from its parsed arguments; clap
//! tells which flags were typed (a default value is not), so flags with
//! defaults are checked too.

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

use super::error::{Error, Result};

/// The flags `ids` (clap ids: the field names of the argument struct) mean
/// something only when `what` holds; `holds` says whether it does in this run.
#[derive(Debug)]
pub struct Needs {
    pub what: &'static str,
    pub holds: bool,
    pub ids: &'static [&'static str],
}

impl Needs {
    pub fn new(what: &'static str, holds: bool, ids: &'static [&'static str]) -> Needs {
        Needs { what, holds, ids }
    }
}

/// Refuses the first rule that does not hold while some of its flags were
/// typed on the command line, naming those flags as the user spells them.
pub fn check(cmd: &Command, m: &ArgMatches, rules: &[Needs]) -> Result<()> {
    for r in rules.iter().filter(|r| !r.holds) {
        let typed: Vec<String> = r
            .ids
            .iter()
            .filter(|id| typed(cmd, m, id))
            .map(|id| flag(cmd, id))
            .collect();
        if let Some((last, rest)) = typed.split_last() {
            let (flags, verb) = if rest.is_empty() {
                (last.clone(), "applies")
            } else {
                (format!("{} and {last}", rest.join(", ")), "apply")
            };
            return Err(Error::Usage(format!("{flags} {verb} only to {}", r.what)));
        }
    }
    Ok(())
}

/// Whether `id` was typed (an argument `cmd` does not have never was).
fn typed(cmd: &Command, m: &ArgMatches, id: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == id)
        && m.value_source(id) == Some(ValueSource::CommandLine)
}

/// `--long` (or `-s`) of argument `id`.
fn flag(cmd: &Command, id: &str) -> String {
    let arg = cmd.get_arguments().find(|a| a.get_id() == id);
    match (
        arg.and_then(|a| a.get_long()),
        arg.and_then(|a| a.get_short()),
    ) {
        (Some(l), _) => format!("--{l}"),
        (None, Some(s)) => format!("-{s}"),
        (None, None) => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Cli;
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    /// Every id named by a rule is an argument of its command (a renamed
    /// field would otherwise turn its rule off without a word), for each
    /// command line below, which between them make every rule's mode
    /// hold and not hold.
    #[test]
    fn every_rule_names_arguments_of_its_command() {
        let lines: &[&[&str]] = &[
            &["infer"],
            &["infer", "--backend", "rtl", "--model", "m"],
            &["cosim"],
            &["cosim", "--layer"],
            &["cosim", "--shards", "2", "--launcher", "slurm"],
            &["bench"],
            &["bench", "--backend", "gpu", "--kernels-only"],
            &["bench", "--no-kernels"],
            &["report"],
            &["report", "--from-cosim", "f"],
            &["synth", "--families", "generic"],
            &["gen-model", "--out", "o"],
            &["gen-model", "--out", "o", "--format", "gguf-i2s"],
            &["convert", "--from", "f", "--to", "t"],
            &["sweep"],
        ];
        let cli = Cli::command();
        let mut checked = 0;
        for line in lines {
            let m = Cli::command()
                .try_get_matches_from(std::iter::once("tritium").chain(line.iter().copied()))
                .unwrap_or_else(|e| panic!("{line:?}: {e}"));
            let parsed = Cli::from_arg_matches(&m).unwrap();
            let (name, sub) = m.subcommand().unwrap();
            let cmd = cli.find_subcommand(name).unwrap();
            for r in parsed.command.needs() {
                for id in r.ids {
                    assert!(
                        cmd.get_arguments().any(|a| a.get_id() == *id),
                        "{name}: rule {:?} names {id:?}, not an argument",
                        r.what
                    );
                    assert_ne!(flag(cmd, id), *id, "{name}: {id} has no flag");
                    checked += 1;
                }
            }
            check(cmd, sub, &parsed.command.needs()).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        }
        assert!(checked > 40, "{checked} ids checked");
    }

    /// Splits an example line as a shell would (words, double quotes).
    fn words(line: &str) -> Vec<String> {
        let (mut out, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
        for c in line.chars() {
            if c == '"' {
                quoted = !quoted;
                any = true;
            } else if c == ' ' && !quoted {
                if any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            } else {
                cur.push(c);
                any = true;
            }
        }
        if any {
            out.push(cur);
        }
        out
    }

    /// The examples of every command's --help parse, and none types a flag
    /// its mode refuses (`DIR` stands for an existing directory).
    #[test]
    fn help_examples_are_valid_command_lines() {
        let dir = std::env::temp_dir();
        let dir = dir.to_str().unwrap();
        let cli = Cli::command();
        let mut seen = 0;
        for cmd in cli.get_subcommands() {
            let Some(help) = cmd.get_after_help() else {
                continue;
            };
            let help = help.to_string();
            // A command line, up to its comment (after two spaces) or a
            // redirection; `&&` starts the next one.
            let lines = help
                .lines()
                .filter(|l| l.trim_start().starts_with("tritium "))
                .flat_map(|l| l.split(" && "))
                .map(|l| l.split("  ").find(|p| !p.is_empty()).unwrap_or(""))
                .map(|l| l.split(['>', '|']).next().unwrap());
            for line in lines {
                let argv: Vec<String> = words(line)
                    .into_iter()
                    .map(|w| if w == "DIR" { dir.to_string() } else { w })
                    .collect();
                assert_eq!(argv[0], "tritium", "{line}");
                let m = Cli::command()
                    .try_get_matches_from(&argv)
                    .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                let parsed = Cli::from_arg_matches(&m).unwrap();
                let (name, sub) = m.subcommand().unwrap();
                let cmd = cli.find_subcommand(name).unwrap();
                check(cmd, sub, &parsed.command.needs())
                    .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                seen += 1;
            }
        }
        assert!(seen >= 20, "{seen} examples");
    }

    #[test]
    fn typed_flags_are_named_defaults_are_not() {
        let cmd = Command::new("t")
            .arg(clap::Arg::new("k").long("k").default_value("640"))
            .arg(clap::Arg::new("rows").long("rows").short('r'))
            .arg(clap::Arg::new("seed").long("seed").default_value("1"));
        let rule = |holds| {
            [Needs::new(
                "single-layer mode (--layer)",
                holds,
                &["k", "rows", "seed"],
            )]
        };
        let m = cmd.clone().get_matches_from(["t"]);
        assert!(check(&cmd, &m, &rule(false)).is_ok(), "defaults only");
        let m = cmd.clone().get_matches_from(["t", "--k", "640", "-r", "2"]);
        let e = check(&cmd, &m, &rule(false)).unwrap_err().to_string();
        assert_eq!(
            e,
            "--k and --rows apply only to single-layer mode (--layer)"
        );
        assert!(check(&cmd, &m, &rule(true)).is_ok());
        let m = cmd.clone().get_matches_from(["t", "--seed", "3"]);
        let e = check(&cmd, &m, &rule(false)).unwrap_err().to_string();
        assert_eq!(e, "--seed applies only to single-layer mode (--layer)");
    }
}
