//! The note a push keeps in the machine's directory while it changes the host
//! (`mbundle-push.json`, 0600): when it began and how far it got. A push killed mid-way
//! leaves it; the next push says so and `doctor` names the command that finishes it. The
//! host decides what is left to do (its files and the certificate it serves), never the note
//! alone: the note is only what this laptop remembers, and is read as untrusted input.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The note's file name in the machine's directory.
pub const NOTE: &str = "mbundle-push.json";

/// The largest note read.
const MAX_NOTE: u64 = 4096;

/// How far a push got on a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Staging the new files beside the old (and arming live-restore).
    Staging,
    /// Swapping them in and restarting docker, then verifying.
    Restarting,
}

/// What the note says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// When the push began on this host (RFC 3339).
    pub started_at: String,
    /// How far it got.
    pub step: Step,
}

impl Note {
    /// A note for a push beginning now.
    pub fn now(step: Step) -> Note {
        Note {
            started_at: crate::pki::certs::rfc3339(time::OffsetDateTime::now_utc()),
            step,
        }
    }

    /// What a person is told: the day and step, nothing taken from the file unchecked.
    pub fn describe(&self) -> String {
        let when = crate::pki::certs::date_of(&self.started_at);
        match self.step {
            Step::Staging => format!("a push begun {when} was stopped while staging the files"),
            Step::Restarting => {
                format!("a push begun {when} was stopped while restarting docker on the new files")
            }
        }
    }
}

/// Records `note` in the machine directory `dir` (replacing an older one).
pub fn write(dir: &Path, note: &Note) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(note).unwrap_or_default();
    crate::fs::outfile::write_atomic(&dir.join(NOTE), &bytes, 0o600)
}

/// The note in `dir`, if any; `Err` says why it cannot be read (then it is not believed).
pub fn read(dir: &Path) -> Option<std::result::Result<Note, String>> {
    let path = dir.join(NOTE);
    std::fs::symlink_metadata(&path).ok()?;
    Some(
        crate::fs::beneath::read_bounded(&path, MAX_NOTE)
            .map_err(|e| e.full_message())
            .and_then(|b| {
                let n: Note = serde_json::from_slice(&b).map_err(|e| format!("{NOTE}: {e}"))?;
                time::OffsetDateTime::parse(
                    &n.started_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| format!("{NOTE}: started_at is not a date"))?;
                Ok(n)
            }),
    )
}

/// Removes the note: the host is as the push left it, finished or rolled back.
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(NOTE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_round_trips_and_a_forged_one_is_not_believed() {
        let d = tempfile::tempdir().unwrap();
        assert!(read(d.path()).is_none());
        write(d.path(), &Note::now(Step::Restarting)).unwrap();
        let n = read(d.path()).unwrap().unwrap();
        assert_eq!(n.step, Step::Restarting);
        assert!(n.describe().contains("restarting docker"));
        std::fs::write(
            d.path().join(NOTE),
            r#"{"started_at":"$(rm -rf /)\u001b[2J","step":"staging"}"#,
        )
        .unwrap();
        assert!(read(d.path()).unwrap().is_err());
        std::fs::write(d.path().join(NOTE), vec![b' '; 10_000]).unwrap();
        assert!(read(d.path()).unwrap().is_err());
        remove(d.path());
        assert!(read(d.path()).is_none());
    }
}
