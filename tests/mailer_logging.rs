//! What the mailer writes to the `log` facade: boulder's lines, at sensible levels, and
//! never a password. One test per process, since the logger is global.

mod mailer_support;

use log::{Level, LevelFilter, Log, Metadata, Record};
use mailer_support::*;
use smtpwire::auth::Credentials;
use smtpwire::testing::{Action, Server, Stage};
use std::sync::Mutex;

struct Capture(Mutex<Vec<(Level, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() < 10_000 {
            lines.push((record.level(), record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn logs_sleeps_and_reconnections_and_never_the_password() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(LevelFilter::Trace);
    const PASSWORD: &str = "pa55-w0rd-never-logged";

    // A send that reconnects after a close and after a 421, with AUTH on every connection.
    let harness = Harness::start(
        Server::builder()
            .auth("robot", PASSWORD)
            .fault(on_connection(1, Stage::Mail, Action::close()))
            .fault(on_connection(
                2,
                Stage::Mail,
                Action::reply_and_close(421, "4.4.2 timeout exceeded"),
            )),
    );
    let mut mailer = harness
        .mailer(5)
        .credentials(Credentials::password("robot", PASSWORD).unwrap())
        .allow_plaintext_auth(true)
        .build();
    send_test(&mut mailer).unwrap();
    // And one that fails: wrong password, not retried.
    let mut refused = harness
        .mailer(5)
        .credentials(Credentials::password("robot", "other-secret-value").unwrap())
        .allow_plaintext_auth(true)
        .build();
    send_test(&mut refused).unwrap_err();

    let lines = CAPTURE.0.lock().unwrap().clone();
    let has = |level: Level, text: &str| {
        lines
            .iter()
            .any(|(l, line)| *l == level && line.contains(text))
    };
    assert!(has(Level::Info, "sleeping for"), "{lines:#?}");
    assert!(has(Level::Info, "before reconnecting"), "{lines:#?}");
    assert!(has(Level::Info, "reconnected to"), "{lines:#?}");
    assert!(has(Level::Warn, "attempt 1 of 5"), "{lines:#?}");
    assert!(has(Level::Warn, "failed"), "{lines:#?}");
    for (_, line) in &lines {
        assert!(!line.contains(PASSWORD), "password logged: {line}");
        assert!(
            !line.contains("other-secret-value"),
            "password logged: {line}"
        );
    }
}
