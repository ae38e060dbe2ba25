//! What an import says without refusing: a driver docker-machine will not find, a local VM
//! whose disks the bundle left out.

use crate::format::layout;
use crate::format::manifest::{MachineEntry, Manifest};

use super::model::Found;
use super::target::TargetState;

/// Drivers built into docker-machine 0.16; any other needs `docker-machine-driver-<name>`.
pub const BUILTIN_DRIVERS: &[&str] = &[
    "amazonec2",
    "azure",
    "digitalocean",
    "exoscale",
    "generic",
    "google",
    "hyperv",
    "none",
    "openstack",
    "rackspace",
    "softlayer",
    "virtualbox",
    "vmwarefusion",
    "vmwarevcloudair",
    "vmwarevsphere",
];

/// A machine whose VM runs on this computer, from a bundle that left out its disk images or
/// VM folder: say which files are missing and that the VM will not start without them.
pub(super) fn vm_files_warning(
    manifest: &Manifest,
    m: &MachineEntry,
    target: &str,
    found: &mut Found,
) {
    if !crate::store::LOCAL_VM_DRIVERS.contains(&m.driver.as_str()) {
        return;
    }
    let missing: Vec<&str> = manifest
        .excluded
        .iter()
        .filter_map(|e| layout::in_machine(&e.path, &m.name))
        .collect();
    if missing.is_empty() {
        return;
    }
    /// The most missing files a warning names.
    const SHOWN_FILES: usize = 4;
    let shown = if missing.len() > SHOWN_FILES {
        format!(
            "{} and {} more",
            missing[..SHOWN_FILES].join(", "),
            missing.len() - SHOWN_FILES
        )
    } else {
        missing.join(", ")
    };
    found.warnings.push(format!(
        "machine {target} runs a local {} VM, but the bundle left out its disk images and VM folder ({shown}): the VM will not start without them; export it with --include-disks to carry them",
        m.driver
    ));
}

/// A driver that is neither built into docker-machine nor installed as a plugin.
pub(super) fn driver_warning(
    m: &MachineEntry,
    target: &str,
    state: &TargetState,
    found: &mut Found,
) {
    if BUILTIN_DRIVERS.contains(&m.driver.as_str()) {
        return;
    }
    let plugin = format!("docker-machine-driver-{}", m.driver);
    if !state.installed_drivers.contains(&m.driver) {
        found.warnings.push(format!(
            "machine {target} uses the {} driver, but {plugin} is not on PATH: docker-machine will need it to manage the machine (mbundle env works without it)",
            m.driver
        ));
    }
}
