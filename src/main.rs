//! The `mbundle` binary: parse, run, report. Everything else lives in the library.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let color = mbundle::cli::ColorWhen::from_args(&args);
    let matches = mbundle::cli::Cli::command()
        .color(color)
        .get_matches_from(&args);
    let cli = match mbundle::cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match mbundle::run(cli) {
        // `diff`'s "not current" is an answer: its exit status, nothing on standard error.
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            // A reader that went away (`mbundle ... | head`) is not a failure.
            if let mbundle::Error::Io { source, .. } | mbundle::Error::Output { source, .. } = &e {
                if source.kind() == io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            let mut err = io::stderr().lock();
            // Messages carry names and values from bundles and stores: escaped like all output.
            let msg = e.full_message();
            let _ = writeln!(err, "error: {}", mbundle::text::terminal_safe(&msg));
            if let Some(h) = e.hint() {
                // Every command it suggests acts on the store this one did (`-s`).
                let h = mbundle::for_this_store(&h);
                let _ = writeln!(err, "hint: {}", mbundle::text::printable(&h));
            }
            ExitCode::from(e.exit_code())
        }
    }
}
