//! A real TLS handshake with a host's daemon, as the docker CLI makes it: the store's CA as
//! the only root, the store's client certificate presented, the host's address as the name.
//! It says which certificate the daemon serves (what it loaded, whatever its files on disk
//! hold now), whether it accepts the client, and whether `/_ping` answers `OK`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// What the daemon answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The DER of the certificate it serves.
    pub cert_der: Vec<u8>,
    /// Whether `/_ping` answered `OK` (it accepted the client certificate).
    pub ping_ok: bool,
}

/// Most of the `/_ping` answer read.
const MAX_PING: u64 = 16 << 10;

/// Connects to `host:port` and makes the handshake with `ca_pem` as the only root and the
/// client pair `cert_pem`/`key_pem`; then asks `/_ping`. `Err` says why in words.
pub fn handshake(
    host: &str,
    port: u16,
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Served, String> {
    // ring's provider, already in the tree (rustls deprecates it only for lacking
    // post-quantum key exchange, which dockerd does not offer either).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem) {
        let c = c.map_err(|e| format!("the store's CA certificate does not read ({e})"))?;
        roots
            .add(c)
            .map_err(|e| format!("the store's CA certificate is not usable ({e})"))?;
    }
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the store's client certificate does not read ({e})"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| format!("the store's client key does not read ({e})"))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("the store's client pair is not usable ({e})"))?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host} is not a name TLS can check"))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| format!("TLS: {e}"))?;
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let _ = sock.set_read_timeout(Some(Duration::from_secs(15)));
    let _ = sock.set_write_timeout(Some(Duration::from_secs(15)));
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let sent = tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    let read = sent.and_then(|()| {
        Read::by_ref(&mut tls)
            .take(MAX_PING)
            .read_to_end(&mut answer)
    });
    let cert_der = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec());
    match (cert_der, read) {
        (Some(cert_der), Ok(_)) => {
            let text = String::from_utf8_lossy(&answer);
            let ping_ok = text.starts_with("HTTP/1.1 200") && text.trim_end().ends_with("OK");
            Ok(Served { cert_der, ping_ok })
        }
        (_, Err(e)) => Err(format!("the TLS handshake with {host}:{port} failed: {e}")),
        (None, Ok(_)) => Err(format!("{host}:{port} served no certificate")),
    }
}
