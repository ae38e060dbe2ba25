//! The pieces of an import plan its steps share (placement, planning, staging): where a cert
//! set goes, what happens to each archived file, and what planning found on the way.

use serde::Serialize;
use std::collections::HashMap;

/// Where a cert set goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Byte-identical to the store's `certs/`: machines point there, nothing is written.
    ReuseDefault,
    /// The store had no `certs/ca.pem`: the bundle's default set becomes `certs/`.
    NewDefault,
    /// `imported-certs/<id>/`, beside `certs/`.
    Imported,
    /// The store's own CA: the same key as `certs/ca-key.pem` and the same subject, another
    /// issue of its certificate (a backup from before `renew-ca`, or one renewed elsewhere).
    /// Machines point at `certs/`; the newer certificate of the two is the one kept there.
    SameCa,
}

/// The plan for one cert set.
#[derive(Clone, Debug)]
pub struct SetPlan {
    /// Its id.
    pub id: String,
    /// The CA's name, for the report.
    pub ca_name: Option<String>,
    /// Where it goes.
    pub placement: Placement,
    /// The directory, relative to the store root.
    pub dir_rel: String,
    /// Members to write (the others are there already with the same bytes).
    pub writes: Vec<String>,
    /// Members among `writes` that take the place of a file the store has: only `ca.pem` of a
    /// [`Placement::SameCa`] set whose certificate is newer. The store's file is set aside
    /// (`ca.pem.<time>.old`) in the same commit.
    pub replaces: Vec<String>,
}

/// What happens to one archived file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileTarget {
    /// Written at this path relative to the store root (through staging).
    Write(String),
    /// Already in the store with the same bytes.
    Identical,
    /// Not written: the store keeps its own, another issue from the same CA key (the newer
    /// CA certificate, or the client pair `certs/` already has).
    Kept,
}

/// What the steps of planning find along the way.
#[derive(Default)]
pub(super) struct Found {
    pub(super) conflicts: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) files: HashMap<String, FileTarget>,
}
