//! AUTH exchanges against known byte strings (RFC 4616, RFC 4954, Google's XOAUTH2
//! documentation), step counting, bad challenges, and secrets kept out of every output.

use smtpwire::auth::{
    AuthError, AuthExchange, AuthStep, Credentials, CredentialsError, MAX_SECRET_LEN,
    MAX_USERNAME_LEN, Mechanism,
};

const SECRET: &str = "tanstaaftanstaaf";

fn password() -> Credentials {
    Credentials::password("tim", SECRET).unwrap()
}

fn start(mechanism: &Mechanism, credentials: &Credentials) -> (AuthExchange, Vec<u8>) {
    let mut out = Vec::new();
    let exchange =
        AuthExchange::start(mechanism, credentials, &mut out).expect("supported mechanism");
    (exchange, out)
}

fn respond(
    exchange: &mut AuthExchange,
    challenge: &[u8],
) -> (Result<AuthStep, AuthError>, Vec<u8>) {
    let mut out = Vec::new();
    let step = exchange.respond(challenge, &mut out);
    (step, out)
}

#[test]
fn plain_matches_rfc_4616() {
    // RFC 4616 §4: authcid "tim", password "tanstaaftanstaaf", no authzid.
    let (mut exchange, out) = start(&Mechanism::Plain, &password());
    assert_eq!(out, b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
    // Everything went in the initial response: any challenge is one too many.
    assert_eq!(
        respond(&mut exchange, b""),
        (Err(AuthError::UnexpectedChallenge), Vec::new())
    );
}

#[test]
fn plain_line_parses_on_the_server_side() {
    let (_, out) = start(
        &Mechanism::Plain,
        &Credentials::password("test", "1234").unwrap(),
    );
    let request = smtp_proto::Request::parse(&mut out.iter())
        .unwrap()
        .into_owned();
    assert_eq!(
        request,
        smtp_proto::Request::Auth {
            mechanism: smtp_proto::AUTH_PLAIN,
            initial_response: "AHRlc3QAMTIzNA==".into()
        }
    );
}

#[test]
fn login_answers_by_step_count() {
    let (mut exchange, out) = start(&Mechanism::Login, &password());
    assert_eq!(out, b"AUTH LOGIN\r\n");
    // "VXNlcm5hbWU6" is "Username:", "UGFzc3dvcmQ6" is "Password:".
    assert_eq!(
        respond(&mut exchange, b"VXNlcm5hbWU6"),
        (Ok(AuthStep::Responded), b"dGlt\r\n".to_vec())
    );
    assert_eq!(
        respond(&mut exchange, b"UGFzc3dvcmQ6"),
        (
            Ok(AuthStep::Responded),
            b"dGFuc3RhYWZ0YW5zdGFhZg==\r\n".to_vec()
        )
    );
    assert_eq!(
        respond(&mut exchange, b"UGFzc3dvcmQ6"),
        (Err(AuthError::UnexpectedChallenge), Vec::new())
    );
}

#[test]
fn login_does_not_trust_the_challenge_text() {
    // A server asking for the password first still gets the user name first.
    let (mut exchange, _) = start(&Mechanism::Login, &password());
    assert_eq!(
        respond(&mut exchange, b"UGFzc3dvcmQ6"),
        (Ok(AuthStep::Responded), b"dGlt\r\n".to_vec())
    );
    // Empty challenges are valid base64.
    let (mut exchange, _) = start(&Mechanism::Login, &password());
    assert_eq!(respond(&mut exchange, b"").0, Ok(AuthStep::Responded));
}

#[test]
fn invalid_base64_challenge_is_an_error_that_sticks() {
    for bad in [&b"Username:"[..], b"dGlt ", b"dA", b"\xff\xfe"] {
        let (mut exchange, _) = start(&Mechanism::Login, &password());
        assert_eq!(
            respond(&mut exchange, bad),
            (Err(AuthError::InvalidChallenge), Vec::new()),
            "{bad:?}"
        );
        assert_eq!(
            respond(&mut exchange, b"VXNlcm5hbWU6"),
            (Err(AuthError::InvalidChallenge), Vec::new())
        );
    }
}

#[test]
fn xoauth2_matches_googles_example() {
    let credentials = Credentials::oauth2(
        "someuser@example.com",
        "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
    )
    .unwrap();
    let (mut exchange, out) = start(&Mechanism::XOAuth2, &credentials);
    let expected = "AUTH XOAUTH2 dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==\r\n";
    assert_eq!(String::from_utf8(out).unwrap(), expected);
    // The server reports a bad token as a 334 carrying base64 JSON; the client answers with
    // an empty line, and the server then sends its 5yz.
    let json_error = b"eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K";
    assert_eq!(
        respond(&mut exchange, json_error),
        (Ok(AuthStep::AcknowledgedError), b"\r\n".to_vec())
    );
    assert_eq!(
        respond(&mut exchange, json_error),
        (Err(AuthError::UnexpectedChallenge), Vec::new())
    );
}

#[test]
fn mechanisms_that_do_not_fit_the_credentials_are_refused_without_output() {
    let token = Credentials::oauth2("user", "token").unwrap();
    let cases = [
        (Mechanism::XOAuth2, password()),
        (Mechanism::Plain, token.clone()),
        (Mechanism::Login, token),
        (Mechanism::Other("CRAM-MD5".into()), password()),
        (
            Mechanism::Other("PLAIN\r\nMAIL FROM:<a@b>".into()),
            password(),
        ),
    ];
    for (mechanism, credentials) in cases {
        let mut out = Vec::new();
        let result = AuthExchange::start(&mechanism, &credentials, &mut out);
        assert_eq!(
            result.err(),
            Some(AuthError::UnsupportedMechanism),
            "{mechanism:?}"
        );
        assert!(out.is_empty());
    }
}

#[test]
fn cancel_writes_a_star_and_ends_the_exchange() {
    let (mut exchange, _) = start(&Mechanism::Login, &password());
    let mut out = Vec::new();
    exchange.cancel(&mut out);
    assert_eq!(out, b"*\r\n");
    assert_eq!(
        respond(&mut exchange, b"VXNlcm5hbWU6"),
        (Err(AuthError::Cancelled), Vec::new())
    );
}

#[test]
fn mechanism_preferences() {
    assert_eq!(
        password().mechanisms(),
        &[Mechanism::Plain, Mechanism::Login]
    );
    let token = Credentials::oauth2("u", "t").unwrap();
    assert_eq!(token.mechanisms(), &[Mechanism::XOAuth2]);
    let offered = [Mechanism::Login, Mechanism::XOAuth2, Mechanism::Plain];
    assert_eq!(
        password().preferred_mechanism(&offered),
        Some(&Mechanism::Plain)
    );
    assert_eq!(
        password().preferred_mechanism(&offered[..2]),
        Some(&Mechanism::Login)
    );
    assert_eq!(token.preferred_mechanism(&offered[..1]), None);
    assert_eq!(
        Mechanism::parse("xoauth2").map(|m| m.as_str().to_owned()),
        Some("XOAUTH2".to_owned())
    );
}

#[test]
fn secrets_never_show_in_debug_display_or_errors() {
    let credentials = password();
    let debug = format!("{credentials:?}");
    assert!(debug.contains("tim") && !debug.contains(SECRET), "{debug}");
    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        let (mut exchange, _) = start(&mechanism, &credentials);
        let _ = respond(&mut exchange, b"");
        let _ = respond(&mut exchange, b"");
        let error = respond(&mut exchange, b"!").0.unwrap_err();
        let shown = format!("{exchange:?} {error} {error:?}");
        assert!(!shown.contains(SECRET), "{shown}");
    }
    let token = Credentials::oauth2("u", "ya29.secret-token").unwrap();
    assert!(!format!("{token:?}").contains("ya29"));
    let (exchange, _) = start(&Mechanism::XOAuth2, &token);
    assert!(!format!("{exchange:?}").contains("ya29"));
}

#[test]
fn credential_limits() {
    assert_eq!(
        Credentials::password("", "x").unwrap_err(),
        CredentialsError::EmptyUsername
    );
    assert_eq!(
        Credentials::password("u", "").unwrap_err(),
        CredentialsError::EmptySecret
    );
    assert_eq!(
        Credentials::oauth2("u", "").unwrap_err(),
        CredentialsError::EmptySecret
    );
    assert!(Credentials::password(&"u".repeat(MAX_USERNAME_LEN), "x").is_ok());
    assert_eq!(
        Credentials::password(&"u".repeat(MAX_USERNAME_LEN + 1), "x").unwrap_err(),
        CredentialsError::UsernameTooLong
    );
    assert_eq!(
        Credentials::password("u", &"x".repeat(MAX_SECRET_LEN + 1)).unwrap_err(),
        CredentialsError::SecretTooLong
    );
    // UTF-8 user names and passwords are fine; they are base64-encoded.
    assert!(Credentials::password("jöran", "pässwörd").is_ok());
}

#[test]
fn longest_auth_line_stays_under_rfc_4954_limit() {
    let credentials =
        Credentials::oauth2(&"u".repeat(MAX_USERNAME_LEN), &"t".repeat(MAX_SECRET_LEN)).unwrap();
    let (_, out) = start(&Mechanism::XOAuth2, &credentials);
    assert!(out.len() <= 12288, "{}", out.len());
    assert!(
        out.ends_with(b"\r\n")
            && !out[..out.len() - 2]
                .iter()
                .any(|b| matches!(b, b'\r' | b'\n'))
    );
}
