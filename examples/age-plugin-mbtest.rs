//! `age-plugin-mbtest`: a test-only age plugin standing in for a hardware key, so mbundle's
//! plugin support is tested against the real plugin protocol (the same binary serves the
//! reference `age` CLI) without real hardware. Built by `cargo test` as an example; never
//! installed.
//!
//! The "device" is a directory named by `MBTEST_DEVICE` (unset: the key is unplugged). It
//! holds one file per key, `<handle>.key`: an X25519 secret key line and, optionally, a
//! `pin <PIN>` line. The identity `AGE-PLUGIN-MBTEST-1...` holds only the handle, as a
//! YubiKey identity holds only a slot reference; the recipient `age1mbtest1...` holds the
//! public key, so encrypting needs no device, as with real hardware keys.
//!
//! Unwrapping says "touch your mbtest key" and, for a key with a PIN, asks for it through
//! the plugin protocol (the client shows both on its terminal). Every wrap and unwrap is
//! appended to `MBTEST_LOG` when set, so tests can prove the plugin did the work.
//!
//! Stanzas are X25519 stanzas under the tag `mbtest`: real key agreement, so a wrong key
//! fails as it would on hardware.
//!
//! Usage: `MBTEST_DEVICE=DIR [MBTEST_PIN=1234] age-plugin-mbtest` makes a key and prints its
//! identity file (with the recipient in a `# public key:` comment), like `age-plugin-yubikey
//! --generate`.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{print_new_identity, run_state_machine, Callbacks, PluginHandler};
use bech32::{ToBase32, Variant};

/// The plugin's name: `mbtest`, or what the binary is called after `age-plugin-` (a test
/// can install it as `age-plugin-yubikey` to run the README's YubiKey walkthrough verbatim,
/// with this stand-in for the hardware).
fn plugin_name() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .and_then(|n| n.strip_prefix("age-plugin-").map(str::to_string))
        .unwrap_or_else(|| "mbtest".into())
}

fn device() -> Option<PathBuf> {
    std::env::var_os("MBTEST_DEVICE").map(PathBuf::from)
}

fn log(event: &str) {
    if let Some(path) = std::env::var_os("MBTEST_LOG") {
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{event}");
        }
    }
}

/// A key on the device: its secret and PIN.
struct DeviceKey {
    secret: age::x25519::Identity,
    pin: Option<String>,
}

fn load_key(handle: &[u8]) -> Result<DeviceKey, String> {
    let dir = device().ok_or("no key is plugged in (MBTEST_DEVICE is not set)")?;
    let path = dir.join(format!("{}.key", hex(handle)));
    let text = fs::read_to_string(&path)
        .map_err(|_| format!("the key {} is not on this device", hex(handle)))?;
    let mut secret = None;
    let mut pin = None;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("pin ") {
            pin = Some(p.to_string());
        } else if line.starts_with("AGE-SECRET-KEY-") {
            secret = age::x25519::Identity::from_str(line).ok();
        }
    }
    Ok(DeviceKey {
        secret: secret.ok_or("the device's key file is damaged")?,
        pin,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn x25519_recipient(public: &[u8]) -> Option<age::x25519::Recipient> {
    let text = bech32::encode("age", public.to_base32(), Variant::Bech32).ok()?;
    age::x25519::Recipient::from_str(&text).ok()
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrapper;
    type IdentityV1 = Unwrapper;

    fn recipient_v1(self) -> io::Result<Wrapper> {
        Ok(Wrapper {
            recipients: Vec::new(),
            name: plugin_name(),
        })
    }

    fn identity_v1(self) -> io::Result<Unwrapper> {
        Ok(Unwrapper {
            keys: Vec::new(),
            name: plugin_name(),
        })
    }
}

struct Wrapper {
    recipients: Vec<age::x25519::Recipient>,
    name: String,
}

impl RecipientPluginV1 for Wrapper {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        match (plugin_name == self.name)
            .then(|| x25519_recipient(bytes))
            .flatten()
        {
            Some(r) => {
                self.recipients.push(r);
                Ok(())
            }
            None => Err(recipient::Error::Recipient {
                index,
                message: "not an mbtest recipient".into(),
            }),
        }
    }

    fn add_identity(
        &mut self,
        index: usize,
        _plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        let key =
            load_key(bytes).map_err(|message| recipient::Error::Identity { index, message })?;
        self.recipients.push(key.secret.to_public());
        Ok(())
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        log("wrap");
        let mut out = Vec::new();
        for file_key in &file_keys {
            let mut stanzas = Vec::new();
            for r in &self.recipients {
                let (wrapped, _) = age::Recipient::wrap_file_key(r, file_key)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                stanzas.extend(wrapped.into_iter().map(|s| Stanza {
                    tag: self.name.clone(),
                    args: s.args,
                    body: s.body,
                }));
            }
            out.push(stanzas);
        }
        Ok(Ok(out))
    }
}

struct Unwrapper {
    keys: Vec<DeviceKey>,
    name: String,
}

impl IdentityPluginV1 for Unwrapper {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        if plugin_name != self.name {
            return Err(identity::Error::Identity {
                index,
                message: "not an mbtest identity".into(),
            });
        }
        let key =
            load_key(bytes).map_err(|message| identity::Error::Identity { index, message })?;
        self.keys.push(key);
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        log("unwrap");
        let mut found = HashMap::new();
        for (file_index, stanzas) in files.into_iter().enumerate() {
            for (stanza_index, stanza) in stanzas.iter().enumerate() {
                if stanza.tag != self.name {
                    continue;
                }
                let as_x25519 = Stanza {
                    tag: "X25519".into(),
                    args: stanza.args.clone(),
                    body: stanza.body.clone(),
                };
                for key in &self.keys {
                    let Some(Ok(file_key)) = age::Identity::unwrap_stanza(&key.secret, &as_x25519)
                    else {
                        continue;
                    };
                    let _ = callbacks.message(&format!("Touch your {} key now", self.name))?;
                    if let Some(pin) = &key.pin {
                        let given = match callbacks
                            .request_secret(&format!("Enter the PIN of your {} key", self.name))?
                        {
                            Ok(p) => p,
                            Err(_) => {
                                log("pin-unavailable");
                                found.insert(
                                    file_index,
                                    Err(vec![identity::Error::Internal {
                                        message: "the PIN is needed and could not be asked for"
                                            .into(),
                                    }]),
                                );
                                break;
                            }
                        };
                        if given.expose_secret() != pin {
                            log("pin-wrong");
                            found.insert(
                                file_index,
                                Err(vec![identity::Error::Stanza {
                                    file_index,
                                    stanza_index,
                                    message: format!("wrong PIN for the {} key", self.name),
                                }]),
                            );
                            break;
                        }
                        log("pin-ok");
                    }
                    found.insert(file_index, Ok(file_key));
                    break;
                }
                if found.contains_key(&file_index) {
                    break;
                }
            }
        }
        Ok(found)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(machine) = args.iter().find_map(|a| a.strip_prefix("--age-plugin=")) {
        return run_state_machine(machine, Handler);
    }
    if args.first().map(String::as_str) == Some("--age-plugin") {
        if let Some(machine) = args.get(1) {
            return run_state_machine(machine, Handler);
        }
    }
    let dir =
        device().ok_or_else(|| io::Error::other("set MBTEST_DEVICE to the device directory"))?;
    let secret = age::x25519::Identity::generate();
    let mut handle = [0u8; 8];
    getrandom(&mut handle)?;
    let mut text = format!("{}\n", secret.to_string().expose_secret());
    if let Ok(pin) = std::env::var("MBTEST_PIN") {
        text.push_str(&format!("pin {pin}\n"));
    }
    fs::create_dir_all(&dir)?;
    fs::write(dir.join(format!("{}.key", hex(&handle))), text)?;
    let public = secret.to_public().to_string();
    let (_, data, _) = bech32::decode(&public).map_err(|e| io::Error::other(e.to_string()))?;
    let bytes = bech32::FromBase32::from_base32(&data)
        .map_err(|e: bech32::Error| io::Error::other(e.to_string()))?;
    let bytes: Vec<u8> = bytes;
    print_new_identity(&plugin_name(), &handle, &bytes);
    Ok(())
}

/// Random bytes for a key handle, from the kernel.
fn getrandom(buf: &mut [u8]) -> io::Result<()> {
    use std::io::Read;
    fs::File::open("/dev/urandom")?.read_exact(buf)
}
