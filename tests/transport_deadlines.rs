//! Deadlines: a silent server, a trickling server and a server that stops reading all end the
//! call within its deadline plus a generous margin. Only upper bounds are asserted.

mod transport_support;

use smtpwire::session::{MessageFate, Step};
use smtpwire::transport::{Connection, Error};
use std::time::{Duration, Instant};
use transport_support::*;

const DEADLINE: Duration = Duration::from_secs(1);
const MARGIN: Duration = Duration::from_secs(2);

fn assert_timeout(error: &Error, step: Step, started: Instant) {
    let elapsed = started.elapsed();
    assert!(elapsed < DEADLINE + MARGIN, "took {elapsed:?}");
    assert_eq!(error.kind(), "timeout", "{error:?}");
    assert!(error.is_timeout() && error.is_reconnectable());
    assert_eq!(error.step(), Some(step), "{error:?}");
}

fn trickle(text: &str) -> Act {
    Act::Trickle {
        bytes: text.as_bytes().to_vec(),
        every: Duration::from_millis(100),
        for_at_most: Duration::from_secs(5),
    }
}

#[test]
fn a_silent_server_times_out_the_greeting() {
    let server = ScriptedServer::start(vec![]);
    let started = Instant::now();
    let error = Connection::connect(&options(server.port, DEADLINE)).unwrap_err();
    assert_timeout(&error, Step::Greeting, started);
    assert!(server.finish().received.is_empty());
}

#[test]
fn a_trickling_server_cannot_stretch_the_greeting_deadline() {
    let server = ScriptedServer::start(vec![trickle("220 a greeting that never ends ")]);
    let started = Instant::now();
    let error = Connection::connect(&options(server.port, DEADLINE)).unwrap_err();
    assert_timeout(&error, Step::Greeting, started);
    server.finish();
}

#[test]
fn the_callers_deadline_bounds_connect_even_with_long_reply_timeouts() {
    let server = ScriptedServer::start(vec![]);
    let mut options = options(server.port, Duration::from_secs(300));
    let started = Instant::now();
    options.deadline = Some(started + DEADLINE);
    let error = Connection::connect(&options).unwrap_err();
    assert_timeout(&error, Step::Greeting, started);
    server.finish();
}

fn up_to_data() -> Vec<Act> {
    let mut acts = opening(&[]);
    acts.extend([
        Act::Expect("MAIL FROM:"),
        send("250 ok\r\n"),
        Act::Expect("RCPT TO:"),
        send("250 ok\r\n"),
        Act::Expect("DATA"),
        send("354 go\r\n"),
    ]);
    acts
}

#[test]
fn a_trickled_final_reply_times_out_with_the_message_fate_unknown() {
    let mut script = up_to_data();
    script.extend([Act::ExpectDataBody, trickle("250 queued, slowly ")]);
    let server = ScriptedServer::start(script);
    let mut connection = Connection::connect(&options(server.port, DEADLINE)).unwrap();
    let started = Instant::now();
    let error = connection
        .send_bytes(
            &envelope(&["rcpt@example.org"]),
            b"Subject: t\r\n\r\nbody\r\n",
        )
        .unwrap_err();
    assert_timeout(&error, Step::FinalReply, started);
    let interruption = error.interruption().unwrap();
    assert_eq!(interruption.fate, MessageFate::Unknown);
    assert!(interruption.fate.may_have_been_accepted());
    assert_eq!(interruption.unresolved.len(), 1);
    server.finish();
}

#[test]
fn a_server_that_stops_reading_times_out_the_body() {
    let mut script = up_to_data();
    script.push(Act::Stall(Duration::from_secs(4)));
    let server = ScriptedServer::start(script);
    let mut connection = Connection::connect(&options(server.port, DEADLINE)).unwrap();
    let started = Instant::now();
    // Far more than the socket buffers hold.
    let body = GeneratedBody::new(256 << 20);
    let error = connection
        .send(&envelope(&["rcpt@example.org"]), body, Default::default())
        .unwrap_err();
    assert_timeout(&error, Step::Body, started);
    assert_eq!(
        error.interruption().unwrap().fate,
        MessageFate::NotDelivered
    );
    server.finish();
}

#[test]
fn a_silent_tls_handshake_times_out() {
    let mut script = opening(&["STARTTLS"]);
    script.extend([Act::Expect("STARTTLS"), send("220 go ahead\r\n")]);
    let server = ScriptedServer::start(script);
    let started = Instant::now();
    let error = Connection::connect(&options(server.port, DEADLINE)).unwrap_err();
    assert_timeout(&error, Step::TlsHandshake, started);
    server.finish();
}

#[test]
fn a_silent_noop_times_out_and_closes() {
    let mut script = opening(&[]);
    script.push(Act::Expect("NOOP"));
    let server = ScriptedServer::start(script);
    let mut connection = Connection::connect(&options(server.port, DEADLINE)).unwrap();
    let started = Instant::now();
    let error = connection.noop().unwrap_err();
    assert_timeout(&error, Step::Noop, started);
    assert!(!connection.is_usable());
    server.finish();
}

#[test]
fn close_waits_for_quit_only_briefly() {
    let mut script = opening(&[]);
    script.push(Act::Expect("QUIT"));
    let server = ScriptedServer::start(script);
    let mut options = options(server.port, Duration::from_secs(300));
    options.quit_timeout = DEADLINE;
    let connection = Connection::connect(&options).unwrap();
    let started = Instant::now();
    let error = connection.close().unwrap_err();
    assert_timeout(&error, Step::Quit, started);
    server.finish();
}

#[test]
fn a_deadline_set_on_the_connection_bounds_a_send() {
    let mut script = opening(&[]);
    script.push(Act::Expect("MAIL FROM:"));
    let server = ScriptedServer::start(script);
    let mut connection =
        Connection::connect(&options(server.port, Duration::from_secs(300))).unwrap();
    let started = Instant::now();
    connection.set_deadline(Some(started + DEADLINE));
    let error = connection
        .send_bytes(&envelope(&["rcpt@example.org"]), b"hi\r\n")
        .unwrap_err();
    assert_timeout(&error, Step::Mail, started);
    assert_eq!(
        error.interruption().unwrap().fate,
        MessageFate::NotDelivered
    );
    server.finish();
}
