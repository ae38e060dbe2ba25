//! Issuing certificates locally with a machine's own CA: a new server certificate when the
//! machine's address changed (`regenerate-certs`), and a renewed CA certificate with the same
//! key and subject (`renew-ca`), so every certificate it issued keeps verifying.
//!
//! docker-machine writes CA keys as PKCS#1 (`RSA PRIVATE KEY`); rcgen with ring signs only
//! with PKCS#8 keys, so PKCS#1 keys are wrapped into PKCS#8 first (same key, other envelope).

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::PkiError;

/// Validity of what is issued, as docker-machine does it.
pub const DEFAULT_DAYS: i64 = 1080;
/// The longest a teammate's client certificate may be valid.
pub const MAX_CLIENT_DAYS: i64 = 3650;
/// Validity of a renewed CA certificate unless told otherwise.
pub const DEFAULT_CA_DAYS: i64 = 3650;
/// The longest a renewed CA certificate may be valid.
pub const MAX_CA_DAYS: i64 = 36500;

/// The kind of key a new server certificate gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyType {
    /// RSA 2048, as docker-machine issues (some daemons and tools expect nothing else);
    /// written as PKCS#1 (`RSA PRIVATE KEY`) like docker-machine's.
    #[default]
    Rsa,
    /// ECDSA P-256: smaller and faster; written as PKCS#8.
    Ecdsa,
}

/// A new key of `kind`: rcgen's view of it and its PEM.
fn new_key(kind: KeyType) -> Result<(KeyPair, Zeroizing<String>), PkiError> {
    match kind {
        KeyType::Ecdsa => {
            let key = KeyPair::generate().map_err(|e| PkiError::KeyGeneration(e.to_string()))?;
            let pem = Zeroizing::new(key.serialize_pem());
            Ok((key, pem))
        }
        KeyType::Rsa => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::pkcs8::EncodePrivateKey;
            let gen = |e: String| PkiError::KeyGeneration(e);
            let rsa_key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
                .map_err(|e| gen(e.to_string()))?;
            let der = rsa_key.to_pkcs8_der().map_err(|e| gen(e.to_string()))?;
            let key = KeyPair::try_from(der.as_bytes()).map_err(|e| gen(e.to_string()))?;
            let pem = rsa_key
                .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                .map_err(|e| gen(e.to_string()))?;
            Ok((key, Zeroizing::new(pem.to_string())))
        }
    }
}

/// A new CA with a key of its own (ECDSA P-256): subject `CN=<cn>, O=mbundle`, CA:TRUE with
/// no CA under it (pathlen 0), keyCertSign and cRLSign, valid `days` from an hour ago. A
/// scoped share's CA: it signs one teammate's client certificate and nothing else.
pub fn new_ca(cn: &str, days: i64) -> Result<(String, Zeroizing<String>), PkiError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "mbundle");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(days);
    p.serial_number = Some(random_serial());
    let (key, key_pem) = new_key(KeyType::Ecdsa)?;
    let cert = p
        .self_signed(&key)
        .map_err(|e| PkiError::Signing(e.to_string()))?;
    Ok((cert.pem(), key_pem))
}

/// A new CA for a store whose CA is rotated: an RSA 2048 key as docker-machine makes them,
/// subject `O=<org>, CN=<cn>` (a name of its own: while both are trusted, the old and the new
/// CA must not be taken for each other), CA:TRUE, keyCertSign with docker-machine's
/// digitalSignature and keyEncipherment, valid `days` from an hour ago.
pub fn new_store_ca(
    org: &str,
    cn: &str,
    days: i64,
) -> Result<(String, Zeroizing<String>), PkiError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::OrganizationName, org);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(days);
    p.serial_number = Some(random_serial());
    let (key, key_pem) = new_key(KeyType::Rsa)?;
    let cert = p
        .self_signed(&key)
        .map_err(|e| PkiError::Signing(e.to_string()))?;
    Ok((cert.pem(), key_pem))
}

fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// A private key PEM as PKCS#8 DER: PKCS#8 as is, PKCS#1 RSA wrapped.
pub fn pkcs8_der(key_pem: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(key_pem)
        .map_err(|e| PkiError::NotPemKey(e.to_string()))?;
    let contents = Zeroizing::new(pem.contents.clone());
    match pem.label.as_str() {
        "PRIVATE KEY" => Ok(contents),
        "RSA PRIVATE KEY" => {
            // PrivateKeyInfo ::= SEQUENCE { version 0, rsaEncryption + NULL, OCTET STRING pkcs1 }
            let mut body = vec![0x02, 0x01, 0x00];
            body.extend(der(
                0x30,
                &[
                    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
                ],
            ));
            body.extend(der(0x04, &contents));
            Ok(Zeroizing::new(der(0x30, &body)))
        }
        "ENCRYPTED PRIVATE KEY" => Err(PkiError::EncryptedKey),
        other => Err(PkiError::CannotSignWith(other.to_string())),
    }
}

/// The CA, ready to sign: rcgen's view of the existing certificate and its key.
pub struct Issuer {
    cert: rcgen::Certificate,
    key: KeyPair,
    params_der: Vec<u8>,
    /// The CA certificate's end of validity: nothing it signs outlives it.
    not_after: OffsetDateTime,
}

impl Issuer {
    /// Loads a CA certificate and its key, checking that they belong together.
    pub fn load(ca_pem: &[u8], key_pem: &[u8]) -> Result<Issuer, PkiError> {
        let ca_der = crate::pki::certs::pem_cert_der(ca_pem)?;
        let not_after = crate::pki::certs::info_der(&ca_der)?.not_after;
        if !crate::pki::certs::key_matches(key_pem, &ca_der)? {
            return Err(PkiError::KeyMismatch);
        }
        let pkcs8 = pkcs8_der(key_pem)?;
        let key =
            KeyPair::try_from(pkcs8.as_slice()).map_err(|e| PkiError::SigningKey(e.to_string()))?;
        let params = CertificateParams::from_ca_cert_der(&ca_der.clone().into())
            .map_err(|e| PkiError::CaCertificate(e.to_string()))?;
        // rcgen needs a Certificate to sign with; this one only lends its subject and key
        // identifier, it is never written anywhere.
        let cert = params
            .self_signed(&key)
            .map_err(|e| PkiError::Ca(e.to_string()))?;
        Ok(Issuer {
            cert,
            key,
            params_der: ca_der,
            not_after,
        })
    }

    /// A new server certificate and key (`kind`) for `sans` (IPs or DNS names), with
    /// docker-machine's usages: serverAuth, digitalSignature + keyEncipherment.
    pub fn server_cert(
        &self,
        org: &str,
        sans: &[String],
        days: i64,
        kind: KeyType,
    ) -> Result<(String, Zeroizing<String>), PkiError> {
        let mut p =
            CertificateParams::new(sans.to_vec()).map_err(|e| PkiError::San(e.to_string()))?;
        // As docker-machine: the subject is O=<org> alone (rcgen's default adds a CN).
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::OrganizationName, org);
        self.issue_leaf(p, ExtendedKeyUsagePurpose::ServerAuth, days, kind)
    }

    /// The store's own client certificate issued again, as docker-machine issues it: subject
    /// `O=<org>` alone (the user name docker-machine put there), clientAuth, a new key of
    /// `kind` (docker-machine's is RSA 2048), valid `days` (never past the CA's end).
    pub fn own_client_cert(
        &self,
        org: &str,
        days: i64,
        kind: KeyType,
    ) -> Result<(String, Zeroizing<String>), PkiError> {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::OrganizationName, org);
        self.issue_leaf(p, ExtendedKeyUsagePurpose::ClientAuth, days, kind)
    }

    /// A new client certificate and key (ECDSA P-256) for a teammate: subject `CN=<user>,
    /// O=<user>` (docker-machine's own client certificates carry `O=<user>`), clientAuth,
    /// digitalSignature + keyEncipherment, valid `days`. The daemon accepts any client
    /// certificate its CA signed.
    pub fn client_cert(
        &self,
        user: &str,
        days: i64,
    ) -> Result<(String, Zeroizing<String>), PkiError> {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, user);
        p.distinguished_name.push(DnType::OrganizationName, user);
        self.issue_leaf(p, ExtendedKeyUsagePurpose::ClientAuth, days, KeyType::Ecdsa)
    }

    /// Signs a leaf certificate of `p` (subject and SANs set) for `usage`, valid `days` from
    /// an hour ago, with a random serial, this CA's key identifier and a new key of `kind`.
    fn issue_leaf(
        &self,
        mut p: CertificateParams,
        usage: ExtendedKeyUsagePurpose,
        days: i64,
        kind: KeyType,
    ) -> Result<(String, Zeroizing<String>), PkiError> {
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::hours(1);
        // Never past the CA's own end: a certificate that outlives its issuer is refused by
        // every client from that day on anyway, and would say otherwise.
        p.not_after = (now + Duration::days(days)).min(self.not_after);
        p.serial_number = Some(random_serial());
        p.use_authority_key_identifier_extension = true;
        // basicConstraints CA:FALSE and the leaf's own key identifier, as Go's x509 (so
        // docker-machine) writes them. Without a subject key identifier OpenSSL takes a leaf
        // whose subject is its CA's (docker-machine's client certificate and CA are both
        // O=<user>) for self-signed and refuses it.
        p.is_ca = rcgen::IsCa::ExplicitNoCa;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![usage];
        let (key, key_pem) = new_key(kind)?;
        let cert = p
            .signed_by(&key, &self.cert, &self.key)
            .map_err(|e| PkiError::Signing(e.to_string()))?;
        Ok((cert.pem(), key_pem))
    }

    /// The CA certificate issued again: same key, same subject, same key identifier and
    /// usages, new serial and validity. Everything the old one signed verifies with it.
    pub fn renewed_ca(&self, days: i64) -> Result<String, PkiError> {
        let mut p = CertificateParams::from_ca_cert_der(&self.params_der.clone().into())
            .map_err(|e| PkiError::CaCertificate(e.to_string()))?;
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::hours(1);
        p.not_after = now + Duration::days(days);
        p.serial_number = Some(random_serial());
        let cert = p
            .self_signed(&self.key)
            .map_err(|e| PkiError::Signing(e.to_string()))?;
        Ok(cert.pem())
    }
}

fn random_serial() -> rcgen::SerialNumber {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b[0] &= 0x7f;
    b[0] |= 0x01;
    rcgen::SerialNumber::from_slice(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_fixture::read_linux_store as read;

    #[test]
    fn signs_with_a_docker_machine_pkcs1_ca() {
        let issuer = Issuer::load(&read("certs/ca.pem"), &read("certs/ca-key.pem")).unwrap();
        let (cert, key) = issuer
            .server_cert(
                "alice.web",
                &["localhost".into(), "10.1.2.3".into()],
                30,
                KeyType::Ecdsa,
            )
            .unwrap();
        let der = crate::pki::certs::pem_cert_der(cert.as_bytes()).unwrap();
        let ca = crate::pki::certs::pem_cert_der(&read("certs/ca.pem")).unwrap();
        assert!(crate::pki::certs::issued_by(&der, &ca).unwrap());
        assert!(crate::pki::certs::key_matches(key.as_bytes(), &der).unwrap());
        let info = crate::pki::certs::info_der(&der).unwrap();
        assert_eq!(info.sans, ["DNS:localhost", "IP:10.1.2.3"]);
        assert_eq!(info.name, "alice.web");
        assert_eq!(info.subject, "O=alice.web");
    }

    #[test]
    fn rsa_server_keys_are_docker_machine_s_kind() {
        let issuer = Issuer::load(&read("certs/ca.pem"), &read("certs/ca-key.pem")).unwrap();
        let (cert, key) = issuer
            .server_cert("alice.web", &["10.1.2.3".into()], 30, KeyType::Rsa)
            .unwrap();
        assert!(
            key.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
            "PKCS#1 as docker-machine"
        );
        let der = crate::pki::certs::pem_cert_der(cert.as_bytes()).unwrap();
        assert!(crate::pki::certs::key_matches(key.as_bytes(), &der).unwrap());
        let ca = crate::pki::certs::pem_cert_der(&read("certs/ca.pem")).unwrap();
        assert!(crate::pki::certs::issued_by(&der, &ca).unwrap());
    }

    #[test]
    fn a_renewed_ca_still_verifies_what_the_old_one_issued() {
        let issuer = Issuer::load(&read("certs/ca.pem"), &read("certs/ca-key.pem")).unwrap();
        let renewed = issuer.renewed_ca(3650).unwrap();
        let new_ca = crate::pki::certs::pem_cert_der(renewed.as_bytes()).unwrap();
        let old_ca = crate::pki::certs::pem_cert_der(&read("certs/ca.pem")).unwrap();
        let old_server = crate::pki::certs::pem_cert_der(&read("machines/web/server.pem")).unwrap();
        assert!(crate::pki::certs::issued_by(&old_server, &new_ca).unwrap());
        let (a, b) = (
            crate::pki::certs::info_der(&new_ca).unwrap(),
            crate::pki::certs::info_der(&old_ca).unwrap(),
        );
        assert_eq!(a.subject, b.subject);
        assert_ne!(a.fingerprint, b.fingerprint);
        assert!(a.is_ca);
    }

    #[test]
    fn a_teammate_certificate_is_the_ca_s_and_names_them() {
        let issuer = Issuer::load(&read("certs/ca.pem"), &read("certs/ca-key.pem")).unwrap();
        let (cert, key) = issuer.client_cert("bob@example.com", 30).unwrap();
        let der = crate::pki::certs::pem_cert_der(cert.as_bytes()).unwrap();
        let ca = crate::pki::certs::pem_cert_der(&read("certs/ca.pem")).unwrap();
        assert!(crate::pki::certs::issued_by(&der, &ca).unwrap());
        assert!(crate::pki::certs::key_matches(key.as_bytes(), &der).unwrap());
        let info = crate::pki::certs::info_der(&der).unwrap();
        assert!(
            info.subject.contains("CN=bob@example.com"),
            "{}",
            info.subject
        );
        assert!(!info.is_ca);
    }

    #[test]
    fn refuses_a_key_of_another_ca() {
        let err = Issuer::load(&read("certs/ca.pem"), &read("machines/web/server-key.pem"))
            .err()
            .unwrap();
        assert_eq!(err, PkiError::KeyMismatch);
    }
}
