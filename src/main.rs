//! The `tritium` binary: glue only, see [`tritium::cli`].

fn main() -> std::process::ExitCode {
    tritium::cli::main()
}
