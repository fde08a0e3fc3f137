//! The `tritium` binary: glue only, see the `cli` module.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
