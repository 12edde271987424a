//! STARTTLS and implicit TLS against `testing::Server` with certificates made at test time:
//! success, and a wrong host name, an untrusted CA or an expired certificate fail closed
//! with the TLS variant, before anything but EHLO and STARTTLS is sent.

mod transport_support;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::PrivateKeyDer;
use smtpwire::auth::Credentials;
use smtpwire::session::{Step, TlsPolicy};
use smtpwire::testing::{Server, TlsIdentity};
use smtpwire::transport::{Connection, Error, TlsConfig};
use std::time::Duration;
use transport_support::{envelope, options};

/// A certificate authority made for one test.
struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Ca(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
    }

    /// A server identity for `names`, signed by this CA.
    fn identity(&self, names: &[&str], expired: bool) -> TlsIdentity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.0).unwrap();
        let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        TlsIdentity::from_der(vec![cert.der().clone(), self.0.der().clone()], key).unwrap()
    }

    fn trusted(&self) -> TlsConfig {
        TlsConfig::builder()
            .without_webpki_roots()
            .add_root_der(self.0.der().as_ref())
            .unwrap()
            .build()
            .unwrap()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    StartTls,
    Implicit,
}

fn server(mode: Mode, identity: TlsIdentity) -> Server {
    let builder = Server::builder().pipelining(true).eight_bit_mime(true);
    let builder = match mode {
        Mode::StartTls => builder.starttls(identity),
        Mode::Implicit => builder.implicit_tls(identity),
    };
    builder.start().unwrap()
}

fn client_options(
    server: &Server,
    mode: Mode,
    tls: TlsConfig,
) -> smtpwire::transport::ConnectOptions {
    let mut options = options(server.addr().port(), Duration::from_secs(10));
    options.session.tls = match mode {
        Mode::StartTls => TlsPolicy::Required,
        Mode::Implicit => TlsPolicy::Implicit,
    };
    options.tls = tls;
    options
}

const BODY: &[u8] = b"Subject: over TLS\r\n\r\n.a leading dot\r\nbye\r\n";

fn send_one(mode: Mode, host: &str, identity: TlsIdentity, tls: TlsConfig) {
    let server = server(mode, identity);
    let mut options = client_options(&server, mode, tls);
    options.host = host.to_owned();
    let mut connection = Connection::connect(&options).unwrap();
    assert!(connection.is_tls());
    connection
        .send_bytes(&envelope(&["rcpt@example.org"]), BODY)
        .unwrap();
    connection.close().unwrap();
    let messages = server
        .wait_for_messages(1, Duration::from_secs(10))
        .unwrap();
    assert!(messages[0].tls && messages[0].complete && messages[0].accepted);
    assert_eq!(messages[0].body.as_deref(), Some(BODY));
    let record = server.connection(1).unwrap();
    assert!(record.tls);
    if mode == Mode::StartTls {
        // EHLO twice: the capabilities learnt before TLS are thrown away.
        assert_eq!(&record.verbs()[..3], ["EHLO", "STARTTLS", "EHLO"]);
        assert_eq!(record.discarded_after_starttls, 0);
    }
}

#[test]
fn starttls_delivers_over_a_verified_connection() {
    let ca = Ca::new();
    send_one(
        Mode::StartTls,
        "localhost",
        ca.identity(&["localhost"], false),
        ca.trusted(),
    );
}

#[test]
fn implicit_tls_delivers_over_a_verified_connection() {
    let ca = Ca::new();
    send_one(
        Mode::Implicit,
        "localhost",
        ca.identity(&["localhost"], false),
        ca.trusted(),
    );
}

#[test]
fn an_ip_address_host_is_verified_against_the_ip_in_the_certificate() {
    let identity = TlsIdentity::generate_localhost().unwrap();
    let tls = TlsConfig::builder()
        .without_webpki_roots()
        .add_root_der(&identity.certificate_der())
        .unwrap()
        .build()
        .unwrap();
    send_one(Mode::Implicit, "127.0.0.1", identity.clone(), tls.clone());
    send_one(Mode::StartTls, "127.0.0.1", identity, tls);
}

#[test]
fn credentials_go_only_over_tls() {
    let ca = Ca::new();
    let server = Server::builder()
        .starttls(ca.identity(&["localhost"], false))
        .auth("user", "secret")
        .require_auth(true)
        .start()
        .unwrap();
    let mut options = client_options(&server, Mode::StartTls, ca.trusted());
    options.host = "localhost".to_owned();
    options.session.credentials = Some(Credentials::password("user", "secret").unwrap());
    let mut connection = Connection::connect(&options).unwrap();
    connection
        .send_bytes(&envelope(&["rcpt@example.org"]), BODY)
        .unwrap();
    connection.close().unwrap();
    let record = server.connection(1).unwrap();
    assert_eq!(record.authenticated_as.as_deref(), Some("user"));
    let verbs = record.verbs();
    let auth_at = verbs.iter().position(|v| v == "AUTH").unwrap();
    let starttls_at = verbs.iter().position(|v| v == "STARTTLS").unwrap();
    assert!(starttls_at < auth_at, "{verbs:?}");
}

#[derive(Clone, Copy, Debug)]
enum BadCertificate {
    WrongName,
    UntrustedCa,
    Expired,
}

fn expect_tls_failure(mode: Mode, bad: BadCertificate, policy: TlsPolicy) -> Option<String> {
    let ca = Ca::new();
    let (identity, tls) = match bad {
        BadCertificate::WrongName => (ca.identity(&["mail.example.com"], false), ca.trusted()),
        BadCertificate::UntrustedCa => (ca.identity(&["localhost"], false), TlsConfig::default()),
        BadCertificate::Expired => (ca.identity(&["localhost"], true), ca.trusted()),
    };
    let server = server(mode, identity);
    let mut options = client_options(&server, mode, tls);
    options.host = "localhost".to_owned();
    options.session.tls = policy;
    let error = match Connection::connect(&options) {
        Ok(_) => return Some("connected".to_owned()),
        Err(error) => error,
    };
    let mut problems = Vec::new();
    match &error {
        Error::Tls {
            source: rustls::Error::InvalidCertificate(_),
            interruption,
        } => {
            if interruption.step != Step::TlsHandshake {
                problems.push(format!("step {}", interruption.step));
            }
        }
        other => problems.push(format!("not a certificate error: {other:?}")),
    }
    if error.kind() != "tls" || error.is_reconnectable() {
        problems.push(format!(
            "kind {} reconnectable {}",
            error.kind(),
            error.is_reconnectable()
        ));
    }
    drop(server.wait_for_closed_connections(1, Duration::from_secs(10)));
    let verbs = server.connection(1).map(|c| c.verbs()).unwrap_or_default();
    let expected: &[&str] = match mode {
        Mode::StartTls => &["EHLO", "STARTTLS"],
        Mode::Implicit => &[],
    };
    if verbs != expected {
        problems.push(format!("commands sent: {verbs:?}"));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[test]
fn bad_certificates_fail_closed_with_the_tls_variant() {
    let mut failures = Vec::new();
    for mode in [Mode::StartTls, Mode::Implicit] {
        for bad in [
            BadCertificate::WrongName,
            BadCertificate::UntrustedCa,
            BadCertificate::Expired,
        ] {
            let policy = match mode {
                Mode::StartTls => TlsPolicy::Required,
                Mode::Implicit => TlsPolicy::Implicit,
            };
            if let Some(problem) = expect_tls_failure(mode, bad, policy) {
                failures.push(format!("{mode:?} / {bad:?}: {problem}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn opportunistic_tls_with_a_bad_certificate_does_not_fall_back_to_plain_text() {
    let problem = expect_tls_failure(
        Mode::StartTls,
        BadCertificate::UntrustedCa,
        TlsPolicy::Opportunistic,
    );
    assert_eq!(problem, None);
}

#[test]
fn required_tls_without_starttls_stops_before_mail() {
    let server = Server::builder().start().unwrap();
    let mut options = options(server.addr().port(), Duration::from_secs(10));
    options.session.tls = TlsPolicy::Required;
    let error = Connection::connect(&options).unwrap_err();
    assert!(
        matches!(error, Error::TlsUnavailable { reply: None }),
        "{error:?}"
    );
    assert_eq!(error.kind(), "tls-unavailable");
    drop(server.wait_for_closed_connections(1, Duration::from_secs(10)));
    assert_eq!(server.connection(1).unwrap().verbs(), ["EHLO"]);
}
