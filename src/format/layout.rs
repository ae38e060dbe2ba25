//! Where things sit inside a bundle's archive, spelled once: `mbundle.json`, then
//! `machines/<name>/<file>` for each machine's files and `certsets/<id>/<member>` for each
//! cert set. Pure string work; names and ids are checked by [`crate::format::manifest`].

/// The folder of the machines.
pub const MACHINES: &str = "machines";
/// The folder of the issuing cert sets.
pub const CERTSETS: &str = "certsets";
/// A machine's configuration, relative to its folder.
pub const CONFIG: &str = "config.json";

/// `machines/<name>/`: what every file of machine `name` starts with.
pub fn machine_prefix(name: &str) -> String {
    format!("{MACHINES}/{name}/")
}

/// `machines/<name>/<rel>`, `rel` relative to the machine's folder (`/` separated).
pub fn machine_file(name: &str, rel: &str) -> String {
    format!("{MACHINES}/{name}/{rel}")
}

/// `machines/<name>/config.json`.
pub fn machine_config(name: &str) -> String {
    machine_file(name, CONFIG)
}

/// `certsets/<id>/<member>`.
pub fn set_member(id: &str, member: &str) -> String {
    format!("{CERTSETS}/{id}/{member}")
}

/// The part of `path` below machine `name`'s folder, when it lies there.
pub fn in_machine<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    path.strip_prefix(MACHINES)?
        .strip_prefix('/')?
        .strip_prefix(name)?
        .strip_prefix('/')
}

/// The machine whose config.json `path` is (`machines/<name>/config.json`).
pub fn config_of(path: &str) -> Option<&str> {
    let name = path
        .strip_prefix(MACHINES)?
        .strip_prefix('/')?
        .strip_suffix(CONFIG)?
        .strip_suffix('/')?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_spelled_and_read_back() {
        assert_eq!(machine_config("web"), "machines/web/config.json");
        assert_eq!(set_member("00ff", "ca.pem"), "certsets/00ff/ca.pem");
        assert_eq!(in_machine("machines/web/id_rsa", "web"), Some("id_rsa"));
        assert_eq!(in_machine("machines/web2/id_rsa", "web"), None);
        assert_eq!(in_machine("machines/webx", "web"), None);
        assert_eq!(config_of("machines/web/config.json"), Some("web"));
        assert_eq!(config_of("machines/web/sub/config.json"), None);
        assert_eq!(config_of("machines//config.json"), None);
        assert_eq!(config_of("certsets/web/config.json"), None);
    }
}
