//! What a bundle holds of a machine, against what a machine folder on disk holds: the files
//! the export left out, and the files whose bytes differ. Pure: the caller hashes the folder.

use std::collections::{BTreeMap, BTreeSet};

use crate::format::layout;
use crate::format::manifest::{MachineEntry, Manifest};

/// The files the bundle left out of machine `name`, relative to its directory (its disks,
/// its VM folder, files it could not carry).
pub fn left_out_of(manifest: &Manifest, name: &str) -> BTreeSet<String> {
    manifest
        .excluded
        .iter()
        .filter_map(|e| layout::in_machine(&e.path, name).map(str::to_string))
        .collect()
}

/// The files of machine `m` in the bundle whose bytes differ from `have` (a machine
/// directory's files, relative path -> sha256), or that only one side holds. config.json is
/// left aside (a rewrite changes it); files the export left out (disks) do not count.
pub fn differing_machine_files(
    manifest: &Manifest,
    m: &MachineEntry,
    have: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut differ = Vec::new();
    let mut seen = BTreeSet::new();
    for path in &m.files {
        let Some(rest) = layout::in_machine(path, &m.name) else {
            continue;
        };
        seen.insert(rest.to_string());
        if rest == layout::CONFIG {
            continue;
        }
        let want = manifest.file(path).map(|f| &f.sha256);
        if have.get(rest) != want {
            differ.push(rest.to_string());
        }
    }
    let left_out = left_out_of(manifest, &m.name);
    for rest in have.keys() {
        if !seen.contains(rest) && !left_out.contains(rest) {
            differ.push(rest.clone());
        }
    }
    differ.sort();
    differ
}
