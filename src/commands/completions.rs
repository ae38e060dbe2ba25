//! `mbundle completions SHELL`: clap's completion script for the shell, on stdout.

use super::render::print;
use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;

pub(super) fn run(a: &CompletionsArgs) -> Result<()> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "mbundle", &mut script);
    print(&String::from_utf8_lossy(&script))
}
