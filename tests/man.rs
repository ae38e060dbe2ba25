//! man/mbundle.1 (and one page per subcommand, as git does it) is generated from the CLI
//! definition; this test keeps the checked-in pages in sync with it.
//! Regenerate with: MBUNDLE_UPDATE_MAN=1 cargo test --test tests man::

use std::fs;
use std::path::Path;

use clap::CommandFactory;

/// (file name, page) for mbundle.1 and mbundle-<sub>.1.
fn render() -> Vec<(String, Vec<u8>)> {
    let cmd = mbundle::cli::Cli::command();
    let mut pages = Vec::new();
    let mut main = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut main)
        .unwrap();
    pages.push(("mbundle.1".to_string(), main));
    for sub in cmd.get_subcommands() {
        let name = format!("mbundle-{}", sub.get_name());
        let mut page = Vec::new();
        // Global options (-s) belong on every page.
        let mut sub = sub
            .clone()
            .name(name.clone())
            .bin_name(name.replace('-', " "));
        for arg in cmd.get_arguments().filter(|a| a.is_global_set()) {
            sub = sub.arg(arg.clone());
        }
        clap_mangen::Man::new(sub).render(&mut page).unwrap();
        pages.push((format!("{name}.1"), page));
    }
    pages
}

#[test]
fn man_pages_match_the_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("MBUNDLE_UPDATE_MAN").is_some();
    for (name, fresh) in render() {
        let path = dir.join(&name);
        if update {
            fs::create_dir_all(&dir).unwrap();
            fs::write(&path, &fresh).unwrap();
        }
        let on_disk = fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == fresh,
            "man/{name} is out of date: run MBUNDLE_UPDATE_MAN=1 cargo test --test tests man::"
        );
    }
}
