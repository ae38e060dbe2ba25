//! Integration tests: the real binary on real temp stores, with the real `age` CLI where the
//! format's promise (stock-tool recovery) is at stake. One test binary, modules by subject.

mod util;

mod bench_fleet;
mod cli;
mod compat;
mod crash;
mod doctor;
mod e2e;
mod ecosystem;
mod export;
mod fleet;
mod golden;
mod hardening;
mod host_renewal;
mod hostile;
mod hosts;
mod import;
mod inspect_verify;
mod interop;
mod lifecycle;
mod man;
mod plugins;
mod renewed_ca;
mod restore;
mod robustness;
mod rotate;
mod scoped;
mod secrets;
mod share;
mod tidy;
