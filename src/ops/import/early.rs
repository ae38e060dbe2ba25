//! config.json rewritten while the rest is still being staged. Staging 500 machines keeps
//! the kernel busy creating files and the CPU partly idle; rewriting their config.json files
//! afterwards took a fifth of an import. The reader hands each small config.json it has read
//! (not yet checked against its sha256: a mismatch fails the import before any result here
//! is used) to one thread, which rewrites it and stages the result. What each rewrite found
//! is applied after staging, in machine order, where the paths it names are looked up
//! (`rewrite::rewrite_staged`); a config.json not handed over here is rewritten there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SendError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::plan::{root_path, ImportPlan};
use super::rewrite::{rewritten, staged_set, Rewritten};
use crate::error::Result;

/// config.json files waiting at most (each at most `spool::SMALL`).
const QUEUE: usize = 16;

/// What the thread found, by machine.
type Found = Vec<Option<Result<Rewritten>>>;

pub(super) struct Early {
    tx: Option<SyncSender<(usize, Vec<u8>)>>,
    thread: Option<JoinHandle<Found>>,
    /// Machine by the staging path of its config.json.
    index: HashMap<String, usize>,
}

impl Early {
    /// Starts the thread that rewrites `plan`'s machines' config.json into `staging`.
    pub(super) fn start(plan: Arc<ImportPlan>, staging: &Path) -> Result<Early> {
        let root_fp = root_path(&plan.root)?;
        let index = plan
            .machines
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("machines/{}/config.json", m.target), i))
            .collect();
        let staging: PathBuf = staging.to_path_buf();
        let (tx, rx) = sync_channel::<(usize, Vec<u8>)>(QUEUE);
        let thread = std::thread::spawn(move || {
            let staged = staged_set(&plan);
            let mut found: Found = plan.machines.iter().map(|_| None).collect();
            for (i, text) in rx {
                let Some(m) = plan.machines.get(i) else {
                    continue;
                };
                let dest = staging.join("machines").join(&m.target).join("config.json");
                let r = rewritten(&plan, m, text, &root_fp, &staging, &staged).and_then(
                    |(r, bytes)| {
                        let mode = crate::store::store_mode("config.json", Some(&bytes));
                        super::spool::write_file(&staging, &dest, mode, &bytes)?;
                        Ok(r)
                    },
                );
                found[i] = Some(r);
            }
            found
        });
        Ok(Early {
            tx: Some(tx),
            thread: Some(thread),
            index,
        })
    }

    /// The machine whose config.json stages at `rel`, if it is one.
    pub(super) fn machine_of(&self, rel: &str) -> Option<usize> {
        // Seven files in eight are not a config.json: not worth hashing.
        if !rel.ends_with("/config.json") {
            return None;
        }
        self.index.get(rel).copied()
    }

    /// Hands over machine `i`'s config.json; gives it back if the thread is gone.
    pub(super) fn send(&mut self, i: usize, text: Vec<u8>) -> std::result::Result<(), Vec<u8>> {
        match &self.tx {
            Some(tx) => tx.send((i, text)).map_err(|SendError((_, text))| text),
            None => Err(text),
        }
    }

    /// Waits for the thread: what it found, by machine (none for a machine it did not get).
    pub(super) fn finish(&mut self) -> Found {
        self.tx = None;
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Early {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
