//! The config.json rewriter: any JSON, never a panic; the result always parses again, keeps
//! its keys, and mapping twice changes nothing more (the targets are outside the sources).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbundle::ForeignPath;
use mbundle::{rewrite_config, to_docker_machine_json, PathMap};

fn map() -> PathMap {
    let p = |s: &str| ForeignPath::parse(s).unwrap();
    let mut m = PathMap::new();
    m.exact(p("/home/alice/acme/ca.pem"), p("/srv/dm/imported-certs/0123456789abcdef/ca.pem"));
    m.prefix(p("/home/alice/.docker/machine/machines/web"), p("/srv/dm/machines/web2"));
    m.prefix(p("/home/alice/.docker/machine"), p("/srv/dm"));
    m.prefix(p("C:\\Users\\José\\.docker\\machine"), p("/srv/dm"));
    m
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let keys_before = v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    let map = map();
    let _ = rewrite_config(&mut v, &map, Some(("web", "web2")));
    let text = to_docker_machine_json(&v, data);
    let back: serde_json::Value = serde_json::from_slice(&text).expect("rewritten JSON parses");
    assert_eq!(back, v);
    assert_eq!(v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()), keys_before);
    let mut again = v.clone();
    let second = rewrite_config(&mut again, &map, None);
    assert!(second.changes.is_empty(), "{:?}", second.changes);
});
