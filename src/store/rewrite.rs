//! Rewriting config.json for its new home. Pure: values in, values out.
//!
//! A [`PathMap`] holds, in priority order, exact rules (a cert set member's old spelling ->
//! its new file) and prefix rules (the machine directory, the cert directories, the store
//! root). [`rewrite_config`] walks every string of config.json and maps the ones that parse as
//! an absolute path of the source OS and lie under a rule, on whole path components, with the
//! source OS's case rule. Strings that only look like paths stay as they are: URLs, empty
//! strings, `*RemotePath` fields (paths on the remote host), `VolumeDevicePath`, passwords,
//! secrets and tokens, and any path outside what the bundle carries (reported instead).
//! Key order and unknown fields are preserved; [`to_docker_machine_json`] writes the result
//! back with the file's own indentation.

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

use crate::store::paths::ForeignPath;

/// How a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The whole path.
    Exact,
    /// The path or anything under it.
    Prefix,
}

#[derive(Clone, Debug)]
struct Rule {
    from: ForeignPath,
    to: ForeignPath,
    kind: Kind,
}

/// Old locations -> new locations, for one machine.
#[derive(Clone, Debug, Default)]
pub struct PathMap {
    /// Rules made once for many maps (a cert set's, for every machine it issued: 500
    /// machines no longer copy the same rules 500 times), consulted as if they came first.
    base: Option<Arc<PathMap>>,
    rules: Vec<Rule>,
}

impl PathMap {
    /// An empty map.
    pub fn new() -> PathMap {
        PathMap::default()
    }

    /// A map holding `base`'s rules (shared, not copied) before the ones added to it.
    pub fn on(base: Arc<PathMap>) -> PathMap {
        // One level of sharing: a base that has a base of its own is copied flat.
        let base = match base.base {
            None => base,
            Some(_) => Arc::new(PathMap {
                base: None,
                rules: base.all_rules().cloned().collect(),
            }),
        };
        PathMap {
            base: Some(base),
            rules: Vec::new(),
        }
    }

    /// Every rule, the base's first.
    fn all_rules(&self) -> impl Iterator<Item = &Rule> {
        let base: &[Rule] = self.base.as_ref().map_or(&[], |b| &b.rules);
        base.iter().chain(&self.rules)
    }

    /// Maps exactly this path (a file) to `to`.
    pub fn exact(&mut self, from: ForeignPath, to: ForeignPath) {
        self.rules.push(Rule {
            from,
            to,
            kind: Kind::Exact,
        });
    }

    /// Maps this path and everything under it to the same place under `to`.
    pub fn prefix(&mut self, from: ForeignPath, to: ForeignPath) {
        self.rules.push(Rule {
            from,
            to,
            kind: Kind::Prefix,
        });
    }

    /// Where `p` goes: exact rules first, then the longest matching prefix.
    pub fn map(&self, p: &ForeignPath) -> Option<ForeignPath> {
        for r in self.all_rules().filter(|r| r.kind == Kind::Exact) {
            if let Some(rest) = p.strip_prefix(&r.from) {
                if rest.is_empty() {
                    return Some(r.to.clone());
                }
            }
        }
        self.all_rules()
            .filter(|r| r.kind == Kind::Prefix)
            .filter_map(|r| p.strip_prefix(&r.from).map(|rest| (r, rest)))
            .max_by_key(|(r, _)| r.from.components.len())
            .map(|(r, rest)| r.to.join(rest))
    }
}

/// One string that was rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Dotted field path.
    pub field: String,
    /// The old string.
    pub from: String,
    /// The new string.
    pub to: String,
}

/// One path-like string left as it was because nothing the bundle carries is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Untouched {
    /// Dotted field path.
    pub field: String,
    /// The string.
    pub path: String,
}

/// What a rewrite did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Strings changed.
    pub changes: Vec<Change>,
    /// Local-path strings left alone, worth reporting.
    pub untouched: Vec<Untouched>,
}

/// Fields whose strings are never paths of this computer, whatever they look like.
pub fn never_rewritten(key: &str) -> bool {
    key.ends_with("RemotePath")
        || key == "VolumeDevicePath"
        || ["password", "secret", "token"]
            .iter()
            .any(|w| contains_ignoring_ascii_case(key, w))
}

/// Whether `word` (lowercase ASCII) is in `s`, whatever the ASCII case of `s`; compared in
/// place (called for every string of every config.json).
fn contains_ignoring_ascii_case(s: &str, word: &str) -> bool {
    s.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Fields whose strings are local file paths worth reporting when they point elsewhere.
pub fn is_local_path_field(key: &str) -> bool {
    !never_rewritten(key)
        && ["Path", "File", "Dir", "Key", "ISO", "Keypath"]
            .iter()
            .any(|s| key.ends_with(s))
}

/// [`is_local_path_field`] for a dotted field path (`Driver.SSHKey`); array elements
/// (`X[0]`) never count.
pub fn is_local_path_field_path(field: &str) -> bool {
    let key = field.rsplit('.').next().unwrap_or(field);
    !key.contains('[') && is_local_path_field(key)
}

/// The rules that move a cert set to `dir`: each file config.json files named for a member
/// (`sources`) to that member's name in `dir`, and each directory those files were in to
/// `dir` itself (a set's four members usually share one, made one rule: every string of every
/// config.json is tried against each rule). The import writes config.json with them; `diff`
/// compares with them.
pub fn cert_set_rules<'a>(
    members: impl IntoIterator<Item = (&'a str, &'a [String])>,
    dir: &ForeignPath,
) -> PathMap {
    let mut map = PathMap::new();
    let mut parents: Vec<ForeignPath> = Vec::new();
    for (name, sources) in members {
        for src in sources {
            if let Some(from) = ForeignPath::parse(src) {
                map.exact(from.clone(), dir.join(&[name]));
                if let Some(parent) = from.parent().filter(|p| !parents.contains(p)) {
                    parents.push(parent);
                }
            }
        }
    }
    for parent in parents {
        map.prefix(parent, dir.clone());
    }
    map
}

/// Rewrites config.json in place: every mappable path, plus `Name` and `Driver.MachineName`
/// when the machine is renamed.
pub fn rewrite_config(config: &mut Value, map: &PathMap, rename: Option<(&str, &str)>) -> Outcome {
    let mut out = Outcome::default();
    walk(config, &mut String::new(), "", map, &mut out);
    if let Some((old, new)) = rename {
        for pointer in ["/Name", "/Driver/MachineName"] {
            if let Some(v) = config.pointer_mut(pointer) {
                if v.as_str() == Some(old) {
                    *v = Value::String(new.to_string());
                    out.changes.push(Change {
                        field: pointer[1..].replace('/', "."),
                        from: old.into(),
                        to: new.into(),
                    });
                }
            }
        }
    }
    out
}

/// Rewrites the strings under `v`, whose field name (`HostOptions.AuthOptions.CaCertPath`,
/// `Driver.Disks[0]`) is `field`: one buffer, grown and cut back as the walk goes.
fn walk(v: &mut Value, field: &mut String, key: &str, map: &PathMap, out: &mut Outcome) {
    match v {
        Value::String(s) => {
            if never_rewritten(key) {
                return;
            }
            let Some(p) = ForeignPath::parse(s) else {
                return;
            };
            match map.map(&p) {
                Some(to) => {
                    let to = to.to_string();
                    if to != *s {
                        out.changes.push(Change {
                            field: field.clone(),
                            from: s.clone(),
                            to: to.clone(),
                        });
                        *s = to;
                    }
                }
                None => {
                    if is_local_path_field(key) {
                        out.untouched.push(Untouched {
                            field: field.clone(),
                            path: s.clone(),
                        });
                    }
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                let len = field.len();
                field.push('[');
                field.push_str(&i.to_string());
                field.push(']');
                walk(x, field, key, map, out);
                field.truncate(len);
            }
        }
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                let len = field.len();
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(k);
                walk(x, field, k, map, out);
                field.truncate(len);
            }
        }
        _ => {}
    }
}

/// The indentation a JSON text uses: `None` for compact (one line), else the whitespace
/// before the first key of the second line (docker-machine writes four spaces).
pub fn detect_indent(text: &[u8]) -> Option<Vec<u8>> {
    let nl = text.iter().position(|b| *b == b'\n')?;
    let rest = &text[nl + 1..];
    let n = rest
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    (n > 0).then(|| rest[..n].to_vec())
}

/// Serializes like the original: same indentation (or compact), same trailing newline.
pub fn to_docker_machine_json(v: &Value, like: &[u8]) -> Vec<u8> {
    // About the original's size (a rewritten path is seldom much longer): one allocation
    // where growing from empty took a dozen.
    let mut out = Vec::with_capacity(like.len() + like.len() / 4 + 64);
    match detect_indent(like) {
        Some(indent) => {
            let fmt = serde_json::ser::PrettyFormatter::with_indent(&indent);
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            // Serializing a Value cannot fail.
            let _ = v.serialize(&mut ser);
        }
        None => {
            let _ = serde_json::to_writer(&mut out, v);
        }
    }
    if like.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        #[test]
        fn never_rewritten_matches_words_in_any_ascii_case(
            key in "(x|é|Pass|WORD|sEcReT|oken|T|RemotePath|VolumeDevicePath){0,4}"
        ) {
            let lower = key.to_ascii_lowercase();
            let want = key.ends_with("RemotePath")
                || key == "VolumeDevicePath"
                || ["password", "secret", "token"].iter().any(|w| lower.contains(w));
            proptest::prop_assert_eq!(never_rewritten(&key), want);
        }
    }

    fn fp(s: &str) -> ForeignPath {
        ForeignPath::parse(s).unwrap()
    }

    fn alice_to_bob() -> PathMap {
        let mut m = PathMap::new();
        m.exact(
            fp("/home/alice/acme/ca.pem"),
            fp("/home/bob/.docker/machine/imported-certs/0123/ca.pem"),
        );
        m.prefix(
            fp("/home/alice/.docker/machine/machines/web"),
            fp("/home/bob/.docker/machine/machines/web2"),
        );
        m.prefix(
            fp("/home/alice/.docker/machine"),
            fp("/home/bob/.docker/machine"),
        );
        m
    }

    #[test]
    fn exact_then_longest_prefix() {
        let m = alice_to_bob();
        let got = |s: &str| m.map(&fp(s)).map(|p| p.to_string());
        assert_eq!(
            got("/home/alice/acme/ca.pem").unwrap(),
            "/home/bob/.docker/machine/imported-certs/0123/ca.pem"
        );
        assert_eq!(got("/home/alice/acme/other.pem"), None);
        assert_eq!(
            got("/home/alice/.docker/machine/machines/web/id_rsa").unwrap(),
            "/home/bob/.docker/machine/machines/web2/id_rsa"
        );
        assert_eq!(
            got("/home/alice/.docker/machine/certs/ca.pem").unwrap(),
            "/home/bob/.docker/machine/certs/ca.pem"
        );
        assert_eq!(
            got("/home/alice/.docker/machine2/x"),
            None,
            "sibling of the store"
        );
        assert_eq!(got("/home/alicia/.docker/machine/x"), None);
    }

    #[test]
    fn a_map_on_a_shared_base_maps_as_one_holding_all_its_rules() {
        let flat = alice_to_bob();
        let mut base = PathMap::new();
        base.exact(
            fp("/home/alice/acme/ca.pem"),
            fp("/home/bob/.docker/machine/imported-certs/0123/ca.pem"),
        );
        base.prefix(
            fp("/home/alice/.docker/machine"),
            fp("/home/bob/.docker/machine"),
        );
        let base = Arc::new(base);
        let mut m = PathMap::on(base.clone());
        // The machine's own rule is longer than the base's prefix: it wins.
        m.prefix(
            fp("/home/alice/.docker/machine/machines/web"),
            fp("/home/bob/.docker/machine/machines/web2"),
        );
        // A map on a map that has a base of its own sees all three levels' rules.
        let mut deeper = PathMap::on(Arc::new(m.clone()));
        deeper.exact(fp("/etc/x"), fp("/home/bob/x"));
        for s in [
            "/home/alice/acme/ca.pem",
            "/home/alice/.docker/machine/machines/web/id_rsa",
            "/home/alice/.docker/machine/certs/key.pem",
            "/home/alice/acme/other.pem",
            "/srv/elsewhere",
        ] {
            let want = flat.map(&fp(s));
            assert_eq!(m.map(&fp(s)), want, "{s}");
            assert_eq!(deeper.map(&fp(s)), want, "{s}");
        }
        assert_eq!(deeper.map(&fp("/etc/x")), Some(fp("/home/bob/x")));
        assert_eq!(m.map(&fp("/etc/x")), None);
        // The base is shared, not copied.
        assert_eq!(Arc::strong_count(&base), 2);
    }

    #[test]
    fn windows_store_to_linux_and_back() {
        let mut m = PathMap::new();
        m.prefix(
            fp("C:\\Users\\José\\.docker\\machine"),
            fp("/home/jose/.docker/machine"),
        );
        let got = m.map(&fp(
            "c:\\users\\josé\\.docker\\MACHINE\\machines\\hv\\id_rsa",
        ));
        assert_eq!(
            got.unwrap().to_string(),
            "/home/jose/.docker/machine/machines/hv/id_rsa"
        );

        let mut back = PathMap::new();
        back.prefix(fp("/home/jose/.docker/machine"), fp("D:\\dm"));
        assert_eq!(
            back.map(&fp("/home/jose/.docker/machine/certs/ca.pem"))
                .unwrap()
                .to_string(),
            "D:\\dm\\certs\\ca.pem"
        );
        assert_eq!(
            back.map(&fp("/home/Jose/.docker/machine/certs/ca.pem")),
            None,
            "linux is case-sensitive"
        );
    }

    #[test]
    fn rewrites_paths_and_leaves_look_alikes() {
        let mut cfg = json!({
            "ConfigVersion": 3,
            "Driver": {
                "IPAddress": "1.2.3.4",
                "MachineName": "web",
                "SSHKeyPath": "/home/alice/.docker/machine/machines/web/id_rsa",
                "StorePath": "/home/alice/.docker/machine",
                "SSHKey": "/home/alice/.ssh/id_rsa",
                "SSHPassword": "/home/alice/.docker/machine\\pa\\ss",
                "Token": "/home/alice/.docker/machine/x",
                "VolumeDevicePath": "/home/alice/.docker/machine/dev",
                "URL": "tcp://1.2.3.4:2376",
                "Empty": ""
            },
            "HostOptions": {"AuthOptions": {
                "CaCertPath": "/home/alice/acme/ca.pem",
                "ServerCertRemotePath": "/home/alice/.docker/machine/remote.pem",
                "ServerCertSANs": ["/home/alice/.docker/machine/z"]
            }},
            "Name": "web",
            "Unknown": {"deep": [1, 2.5, null, true]}
        });
        let out = rewrite_config(&mut cfg, &alice_to_bob(), Some(("web", "web2")));
        assert_eq!(
            cfg["Driver"]["SSHKeyPath"],
            "/home/bob/.docker/machine/machines/web2/id_rsa"
        );
        assert_eq!(cfg["Driver"]["StorePath"], "/home/bob/.docker/machine");
        assert_eq!(cfg["Driver"]["SSHKey"], "/home/alice/.ssh/id_rsa");
        assert_eq!(
            cfg["Driver"]["SSHPassword"],
            "/home/alice/.docker/machine\\pa\\ss"
        );
        assert_eq!(cfg["Driver"]["Token"], "/home/alice/.docker/machine/x");
        assert_eq!(
            cfg["Driver"]["VolumeDevicePath"],
            "/home/alice/.docker/machine/dev"
        );
        assert_eq!(cfg["Driver"]["URL"], "tcp://1.2.3.4:2376");
        assert_eq!(cfg["Driver"]["MachineName"], "web2");
        assert_eq!(cfg["Name"], "web2");
        assert_eq!(
            cfg["HostOptions"]["AuthOptions"]["CaCertPath"],
            "/home/bob/.docker/machine/imported-certs/0123/ca.pem"
        );
        assert_eq!(
            cfg["HostOptions"]["AuthOptions"]["ServerCertRemotePath"],
            "/home/alice/.docker/machine/remote.pem"
        );
        assert_eq!(cfg["Unknown"], json!({"deep": [1, 2.5, null, true]}));
        assert_eq!(
            out.untouched,
            [Untouched {
                field: "Driver.SSHKey".into(),
                path: "/home/alice/.ssh/id_rsa".into()
            }]
        );
        // Key order survives.
        let keys: Vec<&String> = cfg["Driver"].as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "IPAddress");
        assert_eq!(keys[2], "SSHKeyPath");
    }

    /// Found by the rewrite fuzz target: serde_json's default float parsing is not exact,
    /// so numbers could change on the way through. With `arbitrary_precision` they keep
    /// their text.
    #[test]
    fn numbers_keep_their_exact_text() {
        let text = b"{\n    \"a\": 5.9999999999999985e+68,\n    \"b\": 1.10,\n    \"c\": 18446744073709551616,\n    \"d\": -0\n}";
        let mut v: Value = serde_json::from_slice(text).unwrap();
        rewrite_config(&mut v, &PathMap::new(), None);
        assert_eq!(to_docker_machine_json(&v, text), text.to_vec());
    }

    #[test]
    fn formatting_is_kept() {
        let four = b"{\n    \"a\": {\n        \"b\": 1\n    }\n}";
        let v: Value = serde_json::from_slice(four).unwrap();
        assert_eq!(to_docker_machine_json(&v, four), four.to_vec());
        let compact = br#"{"a":{"b":1}}"#;
        assert_eq!(to_docker_machine_json(&v, compact), compact.to_vec());
        let tabs_nl = b"{\n\t\"a\": {\n\t\t\"b\": 1\n\t}\n}\n";
        assert_eq!(to_docker_machine_json(&v, tabs_nl), tabs_nl.to_vec());
    }

    #[test]
    fn fixture_configs_survive_a_no_op_rewrite_byte_for_byte() {
        for text in [
            &include_bytes!(
                "../../fixtures/linux/home/alice/.docker/machine/machines/db/config.json"
            )[..],
            &include_bytes!(
                "../../fixtures/quirks/home/dave/.docker/machine/machines/compact/config.json"
            )[..],
            &include_bytes!(
                "../../fixtures/windows/Users/José/.docker/machine/machines/hv/config.json"
            )[..],
        ] {
            let mut v: Value = serde_json::from_slice(text).unwrap();
            let out = rewrite_config(&mut v, &PathMap::new(), None);
            assert!(out.changes.is_empty());
            assert_eq!(to_docker_machine_json(&v, text), text.to_vec());
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Mapping a path under the source store and mapping it back gives the original
            /// (up to spelling: separators and the case of a case-insensitive source).
            #[test]
            fn store_to_store_round_trips(rest in proptest::collection::vec("[a-z0-9._-]{1,8}", 0..5)) {
                prop_assume!(rest.iter().all(|c| c != "." && c != ".."));
                let win = fp("C:\\Users\\x\\.docker\\machine");
                let lin = fp("/srv/dm");
                let mut there = PathMap::new();
                there.prefix(win.clone(), lin.clone());
                let mut back = PathMap::new();
                back.prefix(lin, win.clone());
                let p = win.join(&rest);
                let mapped = there.map(&p).unwrap();
                prop_assert!(!mapped.to_string().contains('\\'));
                prop_assert_eq!(back.map(&mapped), Some(p));
            }

            #[test]
            fn rewrite_never_panics_on_any_json(s in "\\PC{0,200}") {
                if let Ok(mut v) = serde_json::from_str::<Value>(&s) {
                    let _ = rewrite_config(&mut v, &alice_to_bob(), Some(("a", "b")));
                }
            }
        }
    }
}
