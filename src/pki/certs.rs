//! What mbundle needs to know about a certificate: who it is, who issued it, when it ends.
//!
//! Parsing never fails the caller's job: a file that is not a PEM certificate still has a
//! fingerprint (of its raw bytes), so a damaged `ca.pem` is carried and reported rather than
//! blocking an export.

use sha2::{Digest, Sha256};

pub use crate::error::PkiError;
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::X509Certificate;

/// The facts mbundle shows and checks about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// `sha256:` + hex of the DER encoding (what `openssl x509 -fingerprint -sha256` shows).
    pub fingerprint: String,
    /// The subject distinguished name, RFC 4514 style.
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// A short human name: the subject's O, else its CN, else the whole subject.
    pub name: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
    /// DNS names and IP addresses from subjectAltName, as text.
    pub sans: Vec<String>,
}

/// Parses the first certificate of a PEM file.
pub fn parse_pem(bytes: &[u8]) -> Result<CertInfo, PkiError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(bytes)
        .map_err(|e| PkiError::NotPemCertificate(e.to_string()))?;
    if pem.label != "CERTIFICATE" {
        return Err(PkiError::NotCertificate(pem.label));
    }
    let cert = pem
        .parse_x509()
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    Ok(info(&cert, &pem.contents))
}

fn info(cert: &X509Certificate<'_>, der: &[u8]) -> CertInfo {
    let subject = cert.subject();
    let name = subject
        .iter_organization()
        .find_map(|a| a.as_str().ok().map(str::to_string))
        .or_else(|| {
            subject
                .iter_common_name()
                .find_map(|a| a.as_str().ok().map(str::to_string))
        })
        .unwrap_or_else(|| subject.to_string());
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                GeneralName::IPAddress(ip) => {
                    if let Some(ip) = ip_text(ip) {
                        sans.push(format!("IP:{ip}"));
                    }
                }
                _ => {}
            }
        }
    }
    CertInfo {
        fingerprint: fingerprint_der(der),
        subject: subject.to_string(),
        issuer: cert.issuer().to_string(),
        name,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        is_ca: cert.is_ca(),
        sans,
    }
}

fn ip_text(raw: &[u8]) -> Option<String> {
    match raw.len() {
        4 => Some(std::net::Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string()),
        16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(raw);
            Some(std::net::Ipv6Addr::from(b).to_string())
        }
        _ => None,
    }
}

/// `sha256:<hex>` of some bytes.
pub fn fingerprint_der(der: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(der)))
}

/// The fingerprint that identifies a certificate file: of the DER when it parses, else of the
/// raw bytes (so even a damaged file has a stable identity).
pub fn file_fingerprint(bytes: &[u8]) -> String {
    match x509_parser::pem::parse_x509_pem(bytes) {
        Ok((_, pem)) if pem.label == "CERTIFICATE" => fingerprint_der(&pem.contents),
        _ => fingerprint_der(bytes),
    }
}

/// The calendar day of a time, `YYYY-MM-DD` in UTC: how every message dates things.
pub fn day(t: OffsetDateTime) -> String {
    date_of(&rfc3339(t)).to_string()
}

/// The calendar day an RFC 3339 text starts with (`2026-12-06T10:00:00Z` -> `2026-12-06`);
/// the whole text when it does not start with one (a record or manifest may hold anything).
pub fn date_of(text: &str) -> &str {
    const DAY: usize = "YYYY-MM-DD".len();
    match text.get(..DAY) {
        Some(d)
            if d.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            }) =>
        {
            d
        }
        _ => text,
    }
}

/// RFC 3339 in UTC, to the second.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Days before a CA certificate's end that every command warns of it (ls, export, import):
/// time to renew it with the same key before docker-machine replaces it with a new CA.
pub const CA_EXPIRY_WARNING_DAYS: i64 = 90;

/// Whether a CA certificate ending at `not_after` has expired or is within
/// [`CA_EXPIRY_WARNING_DAYS`] of it.
pub fn ca_needs_renewal(not_after: OffsetDateTime, now: OffsetDateTime) -> bool {
    (not_after - now).whole_days() < CA_EXPIRY_WARNING_DAYS
}

/// How a certificate's end date reads to a person, relative to `now`.
pub fn expiry_text(not_after: OffsetDateTime, now: OffsetDateTime) -> String {
    let date = &day(not_after);
    let days = (not_after - now).whole_days();
    if not_after <= now {
        format!("{date} (EXPIRED)")
    } else if days < CA_EXPIRY_WARNING_DAYS {
        format!("{date} ({days}d left)")
    } else {
        date.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_their_day_and_odd_texts_pass_whole() {
        assert_eq!(date_of("2026-12-06T10:00:00Z"), "2026-12-06");
        assert_eq!(date_of("soon"), "soon");
        assert_eq!(date_of("2026-12-0\u{e9}T"), "2026-12-0\u{e9}T");
        assert_eq!(
            date_of("x\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"),
            "x\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"
        );
        assert_eq!(day(OffsetDateTime::UNIX_EPOCH), "1970-01-01");
    }

    const CA: &[u8] =
        include_bytes!("../../fixtures/linux/home/alice/.docker/machine/certs/ca.pem");
    const SERVER: &[u8] =
        include_bytes!("../../fixtures/linux/home/alice/.docker/machine/machines/web/server.pem");

    #[test]
    fn reads_a_docker_machine_ca_and_server_cert() {
        let ca = parse_pem(CA).unwrap();
        assert_eq!(ca.name, "alice");
        assert!(ca.is_ca);
        let srv = parse_pem(SERVER).unwrap();
        assert_eq!(srv.name, "alice.web");
        assert_eq!(srv.issuer, ca.subject);
        assert!(!srv.is_ca);
        assert_eq!(srv.sans, ["DNS:localhost", "IP:203.0.113.10"]);
        assert!(ca.fingerprint.starts_with("sha256:") && ca.fingerprint.len() == 71);
    }

    #[test]
    fn garbage_still_has_a_fingerprint() {
        assert!(parse_pem(b"hello").is_err());
        assert_eq!(file_fingerprint(b"hello"), fingerprint_der(b"hello"));
        assert_eq!(file_fingerprint(CA), parse_pem(CA).unwrap().fingerprint);
    }

    #[test]
    fn expiry_reads_well() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        assert_eq!(
            expiry_text(time::macros::datetime!(2025-12-31 0:00 UTC), now),
            "2025-12-31 (EXPIRED)"
        );
        assert_eq!(
            expiry_text(time::macros::datetime!(2026-01-11 0:00 UTC), now),
            "2026-01-11 (10d left)"
        );
        assert_eq!(
            expiry_text(time::macros::datetime!(2029-01-01 0:00 UTC), now),
            "2029-01-01"
        );
    }
}

/// The first certificate of a PEM file, encoded alone: whatever else the file held (a key
/// appended, more certificates, text around it) is not in the result.
pub fn single_cert_pem(bytes: &[u8]) -> Result<Vec<u8>, PkiError> {
    let der = pem_cert_der(bytes)?;
    info_der(&der)?;
    Ok(pem::encode(&pem::Pem::new("CERTIFICATE", der))
        .replace("\r\n", "\n")
        .into_bytes())
}

/// The DER of the first certificate in a PEM file.
pub fn pem_cert_der(bytes: &[u8]) -> Result<Vec<u8>, PkiError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(bytes)
        .map_err(|e| PkiError::NotPemCertificate(e.to_string()))?;
    if pem.label != "CERTIFICATE" {
        return Err(PkiError::NotCertificate(pem.label));
    }
    Ok(pem.contents)
}

/// Parses a certificate's DER.
pub fn info_der(der: &[u8]) -> Result<CertInfo, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    Ok(info(&cert, der))
}

/// Whether `cert` carries a signature made by `issuer`'s key (and names it as issuer).
pub fn issued_by(cert: &[u8], issuer: &[u8]) -> Result<bool, PkiError> {
    let (_, c) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let (_, i) = x509_parser::parse_x509_certificate(issuer)
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    if c.issuer() != i.subject() {
        return Ok(false);
    }
    match c.verify_signature(Some(i.public_key())) {
        Ok(()) => Ok(true),
        Err(x509_parser::error::X509Error::SignatureVerificationError) => Ok(false),
        Err(e) => Err(PkiError::Signature(e.to_string())),
    }
}

/// Whether the certificate allows TLS client authentication (no extendedKeyUsage at all
/// allows everything).
pub fn allows_client_auth(cert: &[u8]) -> bool {
    match x509_parser::parse_x509_certificate(cert) {
        Ok((_, c)) => match c.extended_key_usage() {
            Ok(Some(eku)) => eku.value.client_auth || eku.value.any,
            Ok(None) => true,
            Err(_) => false,
        },
        Err(_) => false,
    }
}

fn trim_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

/// The modulus and public exponent of a PKCS#1 RSAPrivateKey (DER), checking it has the
/// structure of one: version, n, e, d, p, q, dp, dq, qinv, all integers.
fn pkcs1_public(der: &[u8]) -> Result<(&[u8], &[u8]), PkiError> {
    use x509_parser::der_parser::ber::BerObjectContent;
    let bad = || PkiError::BadRsaKey;
    let (rest, obj) = x509_parser::der_parser::parse_der(der).map_err(|_| bad())?;
    let items = obj.as_sequence().map_err(|_| bad())?;
    if !rest.is_empty() || items.len() < 9 {
        return Err(bad());
    }
    let mut ints = Vec::with_capacity(3);
    for item in items {
        match &item.content {
            BerObjectContent::Integer(b) => ints.push(*b),
            _ => return Err(bad()),
        }
    }
    Ok((trim_zeros(ints[1]), trim_zeros(ints[2])))
}

/// Whether the private key in `key_pem` (PKCS#1 RSA as docker-machine writes, or PKCS#8 RSA,
/// ECDSA P-256/P-384, Ed25519) is the one whose public half `cert` carries.
pub fn key_matches(key_pem: &[u8], cert: &[u8]) -> Result<bool, PkiError> {
    use ring::signature::KeyPair;
    let (_, c) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let cert_pub = c.public_key().subject_public_key.data.to_vec();
    let (_, pem) = x509_parser::pem::parse_x509_pem(key_pem)
        .map_err(|e| PkiError::NotPemKey(e.to_string()))?;
    let der = zeroize::Zeroizing::new(pem.contents.clone());
    let public: Vec<u8> = match pem.label.as_str() {
        // docker-machine's keys. The modulus and exponent are compared with the certificate's
        // (what `openssl rsa -modulus` checks) instead of loading the key with ring, whose
        // full validation costs about a millisecond: an export checks two keys per machine.
        "RSA PRIVATE KEY" => {
            let (n, e) = pkcs1_public(&der)?;
            return Ok(match c.public_key().parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(k)) => {
                    trim_zeros(k.modulus) == n && trim_zeros(k.exponent) == e
                }
                _ => false,
            });
        }
        "PRIVATE KEY" => {
            let rng = ring::rand::SystemRandom::new();
            if let Ok(k) = ring::rsa::KeyPair::from_pkcs8(&der) {
                k.public_key().as_ref().to_vec()
            } else if let Ok(k) = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &der,
                &rng,
            ) {
                k.public_key().as_ref().to_vec()
            } else if let Ok(k) = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                &der,
                &rng,
            ) {
                k.public_key().as_ref().to_vec()
            } else if let Ok(k) = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            {
                k.public_key().as_ref().to_vec()
            } else {
                return Err(PkiError::UncheckablePkcs8);
            }
        }
        "ENCRYPTED PRIVATE KEY" => return Err(PkiError::EncryptedKey),
        other => return Err(PkiError::UncheckableKey(other.to_string())),
    };
    Ok(public == cert_pub)
}

#[cfg(test)]
mod checks {
    use super::*;

    use crate::test_fixture::read_linux_store as read;

    #[test]
    fn docker_machine_pkcs1_keys_match_their_certs() {
        let ca = pem_cert_der(&read("certs/ca.pem")).unwrap();
        let web = pem_cert_der(&read("machines/web/server.pem")).unwrap();
        assert!(key_matches(&read("certs/ca-key.pem"), &ca).unwrap());
        assert!(key_matches(&read("machines/web/server-key.pem"), &web).unwrap());
        assert!(!key_matches(&read("machines/db/server-key.pem"), &web).unwrap());
        assert!(issued_by(&web, &ca).unwrap());
        assert!(!issued_by(&ca, &web).unwrap());
        let client = pem_cert_der(&read("certs/cert.pem")).unwrap();
        assert!(allows_client_auth(&client));
        assert!(!allows_client_auth(&web));
    }

    #[test]
    fn another_ca_did_not_issue_it() {
        let acme = pem_cert_der(&read("../../acme-ca/ca.pem")).unwrap();
        let web = pem_cert_der(&read("machines/web/server.pem")).unwrap();
        assert!(!issued_by(&web, &acme).unwrap());
    }
}
