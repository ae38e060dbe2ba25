//! The adversarial corpus: bundles crafted to attack the importer, generated here (no
//! checked-in binaries). Each is imported into a store that already holds machines and certs;
//! each must be refused with a one-line reason, leave the store byte-identical (whole-tree
//! hash) and write nothing outside it.

use std::fs;
use std::path::Path;

use crate::util::*;

/// One archive entry, with full control over what a hostile tar can say.
#[derive(Clone)]
struct Ent {
    path: Vec<u8>,
    data: Vec<u8>,
    kind: u8,
    link: Vec<u8>,
    /// Size written in the header, when it lies about the data.
    size: Option<u64>,
}

impl Ent {
    fn file(path: &str, data: &[u8]) -> Ent {
        Ent {
            path: path.as_bytes().to_vec(),
            data: data.to_vec(),
            kind: b'0',
            link: vec![],
            size: None,
        }
    }
    fn special(path: &str, kind: u8, link: &str) -> Ent {
        Ent {
            path: path.as_bytes().to_vec(),
            data: vec![],
            kind,
            link: link.as_bytes().to_vec(),
            size: None,
        }
    }
}

/// A raw GNU tar: names written byte for byte (tar-rs would refuse `..` and absolute paths).
fn raw_tar(entries: &[Ent]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_gnu();
        {
            let old = h.as_old_mut();
            let n = e.path.len().min(100);
            old.name[..n].copy_from_slice(&e.path[..n]);
            let l = e.link.len().min(100);
            old.linkname[..l].copy_from_slice(&e.link[..l]);
        }
        h.set_mode(0o600);
        h.set_size(e.size.unwrap_or(e.data.len() as u64));
        h.set_entry_type(tar::EntryType::new(e.kind));
        if e.kind == b'3' || e.kind == b'4' {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(&e.data);
        let pad = (512 - e.data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

fn bundle(entries: &[Ent]) -> Vec<u8> {
    encrypt_to_demo(&gzip(&raw_tar(entries)))
}

/// The sound bundle everything starts from: machine `web` and its cert set.
fn sound() -> Vec<Ent> {
    let dir = Dir::new();
    let store = fixtures().join(LINUX);
    dir.export_demo(&store, "w.mbundle", &["web"]).ok();
    decrypt_entries(&fs::read(dir.path("w.mbundle")).unwrap(), &demo_key())
        .into_iter()
        .map(|(p, d)| Ent::file(&p, &d))
        .collect()
}

fn manifest_of(e: &[Ent]) -> serde_json::Value {
    serde_json::from_slice(&e[0].data).unwrap()
}

fn with_manifest(mut e: Vec<Ent>, f: impl FnOnce(&mut serde_json::Value)) -> Vec<Ent> {
    let mut m = manifest_of(&e);
    f(&mut m);
    e[0].data = serde_json::to_vec(&m).unwrap();
    e
}

fn sha(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Adds a file both to the archive and, correctly, to the manifest (under machine web).
fn add_declared(e: Vec<Ent>, path: &str, data: &[u8]) -> Vec<Ent> {
    let mut e = with_manifest(e, |m| {
        m["files"].as_array_mut().unwrap().push(serde_json::json!({
            "path": path, "size": data.len(), "mode": "0600", "sha256": sha(data)
        }));
        m["machines"][0]["files"]
            .as_array_mut()
            .unwrap()
            .push(path.into());
    });
    e.push(Ent::file(path, data));
    e
}

/// Replaces one file's bytes and fixes the manifest so that only `tamper` is wrong.
fn replace_declared(e: Vec<Ent>, path: &str, data: &[u8]) -> Vec<Ent> {
    let mut e = with_manifest(e, |m| {
        for f in m["files"].as_array_mut().unwrap() {
            if f["path"] == path {
                f["size"] = data.len().into();
                f["sha256"] = sha(data).into();
            }
        }
    });
    for x in e.iter_mut() {
        if x.path == path.as_bytes() {
            x.data = data.to_vec();
        }
    }
    e
}

fn config_of(e: &[Ent]) -> serde_json::Value {
    let c = e
        .iter()
        .find(|x| x.path == b"machines/web/config.json")
        .unwrap();
    serde_json::from_slice(&c.data).unwrap()
}

/// Every hostile case: (name, bundle bytes, how to open it).
fn corpus() -> Vec<(String, Vec<u8>, Vec<String>)> {
    let base = sound();
    let key = vec!["-i".to_string(), demo_key().to_str().unwrap().to_string()];
    let mut c: Vec<(String, Vec<u8>)> = Vec::new();
    let mut push = |name: &str, entries: Vec<Ent>| c.push((name.to_string(), bundle(&entries)));

    // Paths.
    let mut e = base.clone();
    e.push(Ent::file("/tmp/mbundle-evil", b"x"));
    push("absolute entry path", e);
    push(
        "absolute manifest path",
        with_manifest(base.clone(), |m| {
            m["files"][1]["path"] = "/etc/cron.d/evil".into();
        }),
    );
    let mut e = base.clone();
    e.push(Ent::file("machines/web/../../../evil", b"x"));
    push("dot-dot entry path", e);
    push(
        "dot-dot manifest path",
        with_manifest(base.clone(), |m| {
            let p = m["files"][1]["path"]
                .as_str()
                .unwrap()
                .replace("certsets/", "certsets/../");
            m["files"][1]["path"] = p.into();
        }),
    );
    let mut e = base.clone();
    e.push(Ent {
        path: b"machines/web/a\0b".to_vec(),
        ..Ent::file("", b"x")
    });
    push("NUL in entry path", e);
    let mut e = base.clone();
    e.push(Ent {
        path: b"machines/web/\xff\xfe".to_vec(),
        ..Ent::file("", b"x")
    });
    push("non-UTF-8 entry path", e);

    // Links, planted and followed.
    let mut e = base.clone();
    e.insert(1, Ent::special("machines/web/link", b'2', "/etc"));
    e.insert(
        2,
        Ent::file("machines/web/link/passwd", b"root::0:0::/:/bin/sh\n"),
    );
    push("file through a symlink planted earlier", e);
    let mut e = base.clone();
    e.push(Ent::special(
        "machines/web/up",
        b'2',
        "../../../../../../tmp",
    ));
    push("symlink climbing out", e);
    let mut e = base.clone();
    let idx = e
        .iter()
        .position(|x| x.path == b"machines/web/id_rsa")
        .unwrap();
    e[idx] = Ent::special("machines/web/id_rsa", b'2', "/etc/shadow");
    push("declared file sent as a symlink", e);
    let mut e = base.clone();
    e.push(Ent::special("machines/web/hard", b'1', "/etc/passwd"));
    push("hardlink to /etc/passwd", e);
    let mut e = base.clone();
    let idx = e
        .iter()
        .position(|x| x.path == b"machines/web/id_rsa")
        .unwrap();
    e[idx] = Ent::special("machines/web/id_rsa", b'1', "machines/web/config.json");
    push("declared file sent as a hardlink to another entry", e);

    // Devices and other kinds.
    for (name, kind) in [
        ("character device", b'3'),
        ("block device", b'4'),
        ("FIFO", b'6'),
        ("directory", b'5'),
        ("GNU sparse", b'S'),
        ("contiguous file outside the manifest", b'7'),
    ] {
        let mut e = base.clone();
        e.push(Ent::special("machines/web/dev", kind, ""));
        push(name, e);
    }

    // Duplicates, missing and extra entries.
    let mut e = base.clone();
    let dup = e[3].clone();
    e.push(dup);
    push("duplicate entry", e);
    let mut e = base.clone();
    let m = e[0].clone();
    e.insert(1, m);
    push("manifest twice", e);
    let mut e = base.clone();
    e.retain(|x| x.path != b"machines/web/server.pem");
    push("entry missing from the archive", e);
    let mut e = base.clone();
    e.push(Ent::file("machines/web/extra", b"not declared"));
    push("entry not in the manifest", e);
    let mut e = base.clone();
    e.swap(0, 1);
    push("manifest not first", e);
    push("no entries at all", vec![]);

    // Sizes and checksums that lie.
    let mut e = base.clone();
    let idx = e
        .iter()
        .position(|x| x.path == b"machines/web/id_rsa")
        .unwrap();
    let n = e[idx].data.len() as u64;
    e[idx].size = Some(n + 4096);
    e[idx].data.extend(std::iter::repeat_n(b'A', 4096));
    push("header larger than declared", e);
    let mut e = base.clone();
    let idx = e
        .iter()
        .position(|x| x.path == b"machines/web/id_rsa")
        .unwrap();
    e[idx].data.truncate(100);
    push("header smaller than declared", e);
    push(
        "manifest size larger than the data",
        with_manifest(base.clone(), |m| {
            let s = m["files"][2]["size"].as_u64().unwrap();
            m["files"][2]["size"] = (s + 1).into();
        }),
    );
    let mut e = base.clone();
    let idx = e
        .iter()
        .position(|x| x.path == b"machines/web/server.pem")
        .unwrap();
    e[idx].data[200] ^= 1;
    push("sha256 mismatch", e);
    push(
        "declared sha256 is not hex",
        with_manifest(base.clone(), |m| {
            m["files"][1]["sha256"] = "zz".repeat(32).into();
        }),
    );

    // Hostile manifests.
    for (label, name) in [
        ("..", ".."),
        (".", "."),
        ("a/b", "a/b"),
        ("empty", ""),
        ("NUL", "a\u{0}b"),
    ] {
        push(
            &format!("machine named {label}"),
            with_manifest(base.clone(), |m| m["machines"][0]["name"] = name.into()),
        );
    }
    push(
        "machine name of 10,000 characters",
        with_manifest(base.clone(), |m| {
            m["machines"][0]["name"] = "a".repeat(10_000).into()
        }),
    );
    let mut e = base.clone();
    e[0].data = b"this is not json".to_vec();
    push("manifest not JSON", e);
    let mut e = base.clone();
    let mut deep = "[".repeat(100_000);
    deep.push_str(&"]".repeat(100_000));
    e[0].data = deep.into_bytes();
    push("deeply nested JSON manifest", e);
    let mut e = base.clone();
    let mut big = e[0].data.clone();
    big.pop();
    big.extend(std::iter::repeat_n(b' ', 100 << 20));
    big.push(b'}');
    e[0].data = big;
    push("manifest of 100 MB", e);
    push(
        "future format version",
        with_manifest(base.clone(), |m| m["format_version"] = 99.into()),
    );
    push(
        "foreign format",
        with_manifest(base.clone(), |m| m["format"] = "tarball".into()),
    );
    push(
        "cert set with a foreign member",
        with_manifest(base.clone(), |m| {
            m["certsets"][0]["members"][0]["name"] = "id_rsa".into();
        }),
    );

    // Hostile config.json.
    push(
        "config.json not JSON",
        replace_declared(base.clone(), "machines/web/config.json", b"{\"Name\": "),
    );
    let mut cfg = config_of(&base);
    cfg["HostOptions"]["AuthOptions"]["CaPrivateKeyPath"] = "/etc/passwd".into();
    push(
        "config.json points at /etc/passwd",
        replace_declared(
            base.clone(),
            "machines/web/config.json",
            &serde_json::to_vec(&cfg).unwrap(),
        ),
    );
    let mut cfg = config_of(&base);
    cfg["HostOptions"]["AuthOptions"]["ServerCertPath"] =
        "/home/alice/.docker/machine/../../.bashrc".into();
    push(
        "config.json points out with ..",
        replace_declared(
            base.clone(),
            "machines/web/config.json",
            &serde_json::to_vec(&cfg).unwrap(),
        ),
    );
    push(
        "config.json is a JSON array",
        replace_declared(base.clone(), "machines/web/config.json", b"[1,2,3]"),
    );

    // Bombs: small bundles, huge output.
    let mut e = base.clone();
    e.insert(
        0,
        Ent {
            path: b"././@LongLink".to_vec(),
            data: vec![b'a'; 200 << 20],
            kind: b'L',
            link: vec![],
            size: None,
        },
    );
    push("200 MB GNU long name", e);
    let mut e = base.clone();
    e.insert(
        1,
        Ent {
            path: b"././@PaxHeader".to_vec(),
            data: vec![b' '; 100 << 20],
            kind: b'x',
            link: vec![],
            size: None,
        },
    );
    push("100 MB PAX header", e);
    let pax = |k: &str, v: &str| {
        let rec = format!(" {k}={v}\n");
        let mut n = rec.len() + 2;
        while format!("{n}{rec}").len() != n {
            n += 1;
        }
        format!("{n}{rec}").into_bytes()
    };
    let mut e = base.clone();
    e.push(Ent {
        path: b"././@PaxHeader".to_vec(),
        data: pax("path", "../../../evil"),
        kind: b'x',
        link: vec![],
        size: None,
    });
    e.push(Ent::file("machines/web/innocent", b"x"));
    push("PAX path override climbing out", e);
    let mut e = base.clone();
    e.push(Ent {
        path: b"././@LongLink".to_vec(),
        data: b"../../../../tmp/evil\0".to_vec(),
        kind: b'L',
        link: vec![],
        size: None,
    });
    e.push(Ent::file("machines/web/innocent", b"x"));
    push("GNU long name climbing out", e);
    let mut e = add_declared(base.clone(), "machines/web/big", &[]);
    e.last_mut().unwrap().size = Some(10 << 30);
    push("entry header claiming 10 GiB", e);
    let mut plain = raw_tar(&base);
    plain.extend(std::iter::repeat_n(0u8, 64 << 20));
    c.push((
        "64 MB of zeros after the archive".into(),
        encrypt_to_demo(&gzip(&plain)),
    ));
    let mut plain = raw_tar(&base);
    plain.extend_from_slice(b"trailing garbage");
    c.push((
        "data after the end of the archive".into(),
        encrypt_to_demo(&gzip(&plain)),
    ));

    // Broken encryption.
    let sound_bytes = bundle(&base);
    for cut in [
        0,
        10,
        30,
        100,
        200,
        sound_bytes.len() / 3,
        sound_bytes.len() / 2,
        sound_bytes.len() - 17,
        sound_bytes.len() - 1,
    ] {
        c.push((
            format!("ciphertext truncated at {cut}"),
            sound_bytes[..cut].to_vec(),
        ));
    }
    for pos in [5, 60, 150, sound_bytes.len() / 2, sound_bytes.len() - 5] {
        let mut b = sound_bytes.clone();
        b[pos] ^= 0x04;
        c.push((format!("bit flipped at {pos}"), b));
    }
    c.push(("plain tar.gz, no encryption".into(), gzip(&raw_tar(&base))));
    c.push(("empty file".into(), vec![]));

    let mut out: Vec<(String, Vec<u8>, Vec<String>)> =
        c.into_iter().map(|(n, b)| (n, b, key.clone())).collect();
    // Wrong keys.
    out.push((
        "wrong identity".into(),
        sound_bytes.clone(),
        vec!["-i".into(), "OTHER_KEY".into()],
    ));
    out.push((
        "wrong passphrase".into(),
        Vec::new(),
        vec!["--passphrase-file".into(), "wrong-pass.txt".into()],
    ));
    out
}

#[test]
fn every_hostile_bundle_is_refused_and_changes_nothing() {
    let dir = Dir::new();
    // The victim: a store with machines and certs, next to a canary outside it.
    let store = dir.copy_fixture(MACOS, "victim/store");
    fs::write(dir.path("victim/canary"), "untouched").unwrap();
    fs::write(
        dir.path("other.txt"),
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n",
    )
    .unwrap();
    fs::write(dir.path("pass.txt"), "the right one\n").unwrap();
    fs::write(dir.path("wrong-pass.txt"), "not the right one\n").unwrap();
    // A passphrase bundle for the wrong-passphrase case.
    dir.run(&[
        "-s",
        fixtures().join(LINUX).to_str().unwrap(),
        "export",
        "web",
        "--passphrase-file",
        "pass.txt",
        "-o",
        "pp.mbundle",
    ])
    .ok();
    let victim_before = tree(&dir.path("victim"));
    let outside = |d: &Path| {
        let mut t = tree(d);
        t.retain(|k, _| !k.starts_with("victim") && !k.ends_with(".mbundle"));
        t
    };
    let outside_before = outside(dir.root());

    let corpus = corpus();
    assert!(corpus.len() >= 40, "only {} cases", corpus.len());
    let mut reasons = Vec::new();
    for (i, (name, bytes, mut keys)) in corpus.into_iter().enumerate() {
        let file = if name == "wrong passphrase" {
            "pp.mbundle".to_string()
        } else {
            let f = format!("case{i}.mbundle");
            fs::write(dir.path(&f), &bytes).unwrap();
            f
        };
        for k in keys.iter_mut() {
            if k == "OTHER_KEY" {
                *k = "other.txt".into();
            }
        }
        let mut args = vec![
            "-s".to_string(),
            store.to_str().unwrap().to_string(),
            "import".into(),
            file.clone(),
        ];
        args.extend(keys);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = dir.run(&args);
        assert_eq!(
            run.code, 1,
            "{name}: expected refusal (exit 1)\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        let first = run.stderr.lines().next().unwrap_or("");
        assert!(
            first.starts_with("error: ") && first.len() > 20,
            "{name}: no clear reason: {}",
            run.stderr
        );
        assert!(
            first.len() < 400,
            "{name}: reason is not one readable line: {first}"
        );
        let rest: Vec<&str> = run
            .stderr
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("hint: "))
            .collect();
        assert!(
            rest.is_empty(),
            "{name}: the reason spans more than one line: {}",
            run.stderr
        );
        assert_eq!(
            tree(&dir.path("victim")),
            victim_before,
            "{name}: the store or canary changed"
        );
        assert_eq!(
            outside(dir.root()),
            outside_before,
            "{name}: something was written outside the store"
        );
        // --dry-run must refuse what import refuses: it reports what import would do.
        let mut dry = args.clone();
        dry.push("--dry-run");
        let run = dir.run(&dry);
        assert_eq!(
            run.code, 1,
            "{name}: --dry-run did not refuse\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert_eq!(tree(&dir.path("victim")), victim_before, "{name}: dry run");
        reasons.push(format!("{name}: {first}"));
        fs::remove_file(dir.path(&file)).ok();
    }
    eprintln!("{}", reasons.join("\n"));
}
