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
        let given: Vec<String> = r
            .ids
            .iter()
            .filter(|id| typed(cmd, m, id))
            .map(|id| flag(cmd, id))
            .collect();
        if let Some((last, rest)) = given.split_last() {
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

    /// Splits an example line as a shell would (words, quotes).
    fn words(line: &str) -> Vec<String> {
        let (mut out, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
        for c in line.chars() {
            match (c, quote) {
                ('"' | '\'', None) => (quote, any) = (Some(c), true),
                (c, Some(q)) if c == q => quote = None,
                (' ', None) => {
                    if any {
                        out.push(std::mem::take(&mut cur));
                    }
                    any = false;
                }
                (c, _) => {
                    cur.push(c);
                    any = true;
                }
            }
        }
        if any {
            out.push(cur);
        }
        out
    }

    /// `text`'s `tritium` command lines: each up to its comment (`#`, or
    /// two spaces then a parenthesis in --help) or redirection, `&&` and
    /// `\`-continued lines handled; lines with shell variables skipped.
    fn command_lines(text: &str) -> Vec<Vec<String>> {
        let text = text.replace("\\\n", " ");
        text.lines()
            .filter(|l| l.trim_start().starts_with("tritium ") && !l.contains('$'))
            .flat_map(|l| l.split(" && "))
            .map(|l| l.split('#').next().unwrap().split("  (").next().unwrap())
            .map(|l| l.split(['>', '|']).next().unwrap())
            .map(words)
            .collect()
    }

    /// Parses `argv` and checks it against the rules; `DIR` and the value
    /// of a `--from` that is not a GGUF file stand for an existing
    /// directory.
    fn valid(argv: &[String], dir: &str) {
        let mut argv = argv.to_vec();
        for i in 0..argv.len() {
            let from_dir = i > 0 && argv[i - 1] == "--from" && !argv[i].ends_with(".gguf");
            if argv[i] == "DIR" || from_dir {
                argv[i] = dir.to_string();
            }
        }
        assert_eq!(argv[0], "tritium", "{argv:?}");
        let cli = Cli::command();
        let m = match Cli::command().try_get_matches_from(&argv) {
            Ok(m) => m,
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => return,
            Err(e) => panic!("{argv:?}: {e}"),
        };
        let parsed = Cli::from_arg_matches(&m).unwrap();
        let (name, sub) = m.subcommand().unwrap();
        let cmd = cli.find_subcommand(name).unwrap();
        check(cmd, sub, &parsed.command.needs()).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    }

    /// The examples of every command's --help and of the README's shell
    /// blocks parse, and none types a flag its mode refuses.
    #[test]
    fn help_and_readme_examples_are_valid_command_lines() {
        let dir = std::env::temp_dir();
        let dir = dir.to_str().unwrap();
        let mut help = 0;
        for cmd in Cli::command().get_subcommands() {
            if let Some(h) = cmd.get_after_help() {
                for argv in command_lines(&h.to_string()) {
                    valid(&argv, dir);
                    help += 1;
                }
            }
        }
        assert!(help >= 20, "{help} --help examples");
        // The READMEs' shell blocks: every other part between fences.
        let docs = [
            include_str!("../../README.md"),
            include_str!("../../fpga/README.md"),
            include_str!("../../scripts/SLURM.md"),
        ];
        let blocks: Vec<&str> = docs
            .iter()
            .flat_map(|d| d.split("```").skip(1).step_by(2))
            .filter(|b| b.starts_with("sh\n") || b.starts_with('\n'))
            .collect();
        let readme = command_lines(&blocks.concat());
        for argv in &readme {
            valid(argv, dir);
        }
        assert!(readme.len() >= 30, "{} README examples", readme.len());
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
