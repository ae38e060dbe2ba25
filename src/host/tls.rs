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

/// The store's side of a TLS connection to a daemon: its CA (the only root) and client pair.
pub struct Client<'a> {
    /// The daemon's host name or address (the name its certificate must hold).
    pub host: &'a str,
    /// Its TLS port.
    pub port: u16,
    /// The CA certificate, PEM.
    pub ca_pem: &'a [u8],
    /// The client certificate, PEM.
    pub cert_pem: &'a [u8],
    /// The client key, PEM.
    pub key_pem: &'a [u8],
}

/// Most of an API answer read (`/info` is a few KiB).
pub const MAX_ANSWER: u64 = 4 << 20;

impl Client<'_> {
    /// Makes the handshake and asks `/_ping`: which certificate the daemon serves, and
    /// whether it accepts the store's client certificate. `Err` says why in words.
    pub fn handshake(&self) -> Result<Served, String> {
        let (cert_der, status, body) = self.get("/_ping", MAX_PING)?;
        Ok(Served {
            cert_der,
            ping_ok: status == 200 && body.trim_ascii() == b"OK",
        })
    }

    /// `GET path` over a new connection: the served certificate, the HTTP status, the body.
    pub fn get(&self, path: &str, max: u64) -> Result<(Vec<u8>, u16, Vec<u8>), String> {
        let (host, port) = (self.host, self.port);
        let mut conn = rustls::ClientConnection::new(Arc::new(self.config()?), self.name()?)
            .map_err(|e| format!("TLS: {e}"))?;
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
        let request = format!("GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
        let mut answer = Vec::new();
        let read = tls.write_all(request.as_bytes()).and_then(|()| {
            Read::by_ref(&mut tls)
                .take(max + 64 * 1024)
                .read_to_end(&mut answer)
        });
        let cert_der = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec());
        let failed = |e: String| format!("the TLS handshake with {host}:{port} failed: {e}");
        match (cert_der, read) {
            (Some(der), Ok(_)) => {
                let (status, body) = parse_http(&answer).map_err(failed)?;
                Ok((der, status, body))
            }
            (_, Err(e)) => Err(failed(e.to_string())),
            (None, Ok(_)) => Err(format!("{host}:{port} served no certificate")),
        }
    }

    fn name(&self) -> Result<ServerName<'static>, String> {
        ServerName::try_from(self.host.to_string())
            .map_err(|_| format!("{} is not a name TLS can check", self.host))
    }

    fn config(&self) -> Result<rustls::ClientConfig, String> {
        // ring's provider, already in the tree (rustls deprecates it only for lacking
        // post-quantum key exchange, which dockerd does not offer either).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(self.ca_pem) {
            let c = c.map_err(|e| format!("the store's CA certificate does not read ({e})"))?;
            roots
                .add(c)
                .map_err(|e| format!("the store's CA certificate is not usable ({e})"))?;
        }
        let chain = CertificateDer::pem_slice_iter(self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the store's client certificate does not read ({e})"))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem)
            .map_err(|e| format!("the store's client key does not read ({e})"))?;
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("the store's client pair is not usable ({e})"))
    }
}

/// An HTTP/1.1 answer: its status and body (`Content-Length`, chunked, or to the end).
fn parse_http(answer: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("an answer without headers")?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or("an answer without a status")?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut body = &answer[end + 4..];
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk without its size")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "a chunk size that is not hex".to_string())?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        if body.len() < size + 2 {
            return Err("a chunk cut short".into());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_answers_read_plain_and_chunked() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
        assert_eq!(parse_http(plain).unwrap(), (200, b"OK".to_vec()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\":\r\n0\r\n\r\n";
        assert_eq!(parse_http(chunked).unwrap(), (200, b"{\"a\":".to_vec()));
        assert!(parse_http(b"garbage").is_err());
        assert!(
            parse_http(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
        assert!(
            parse_http(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab").is_err()
        );
    }
}
