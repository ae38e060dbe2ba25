//! The `mbundle` binary: parse, run, report. Everything else lives in the library.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mbundle::cli::Cli::parse();
    match mbundle::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A reader that went away (`mbundle ... | head`) is not a failure.
            if let mbundle::Error::Io { source, .. } = &e {
                if source.kind() == io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            // `diff -q`: the exit status is the whole answer.
            if let mbundle::Error::NotCurrent { quiet: true } = &e {
                return ExitCode::from(e.exit_code());
            }
            let mut err = io::stderr().lock();
            let _ = writeln!(err, "error: {}", e.full_message());
            if let Some(h) = e.hint() {
                let _ = writeln!(err, "hint: {h}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
