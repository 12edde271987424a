//! `cargo run --example demo`: the mailer against a server that drops connections.
//!
//! Starts an in-process test SMTP server on 127.0.0.1 that cuts the first four
//! connections at MAIL, like Let's Encrypt boulder's close-first test: odd ones with a
//! clean close, even ones with `421 4.4.2 timeout exceeded`. Then a `Mailer` sends three
//! messages through it and the demo prints what happened: each attempt, failure, wait and
//! reconnection as the mailer's observer saw them, the observer's counts, and the messages
//! as the server received them. It needs no network and takes well under a second.

use smtpwire::mailer::{Counters, Mailer, MailerEvent, Observer};
use smtpwire::session::TlsPolicy;
use smtpwire::testing::{Fault, MessageRecord, Server};
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

/// Prints every event as it happens.
struct Narrator;

impl Observer for Narrator {
    fn on_event(&self, event: &MailerEvent<'_>) {
        match event {
            MailerEvent::AttemptStarted {
                attempt,
                max_attempts,
            } => println!("  attempt {attempt} of {max_attempts}"),
            MailerEvent::Connected { reconnect: true } => println!("    reconnected"),
            MailerEvent::Connected { reconnect: false } => println!("    connected"),
            MailerEvent::AttemptFailed {
                kind,
                error,
                will_retry,
                ..
            } => println!(
                "    failed ({kind}): {error}{}",
                if *will_retry { "; will retry" } else { "" }
            ),
            MailerEvent::Sleeping { delay, .. } => {
                println!(
                    "    sleeping for {} ms before reconnecting",
                    delay.as_millis()
                )
            }
            MailerEvent::PossibleDuplicate { .. } => println!("    possible duplicate"),
            MailerEvent::Delivered { attempts, reply } => {
                println!("    delivered after {attempts} attempt(s): {reply}")
            }
            MailerEvent::Failed { error } => println!("    gave up: {error}"),
            _ => {}
        }
    }
}

/// Hands every event to each observer in turn.
struct Both(Narrator, Arc<Counters>);

impl Observer for Both {
    fn on_event(&self, event: &MailerEvent<'_>) {
        self.0.on_event(event);
        self.1.on_event(event);
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    const CUT: u64 = 4;
    let server = Server::builder()
        .faults(Fault::boulder_close_first(CUT))
        .start()?;
    let addr = server.addr();
    println!(
        "smtpwire demo: a test SMTP server on {addr} cuts the first {CUT} connections at MAIL"
    );
    println!("(odd ones with a clean close, even ones with \"421 4.4.2 timeout exceeded\").\n");

    let counters = Arc::new(Counters::new());
    let mut mailer = Mailer::builder(addr.ip().to_string(), addr.port())
        .tls(TlsPolicy::None)
        .sender("Demo Robot <robot@example.com>".parse()?)
        .backoff_base(Duration::from_millis(50))
        .observer(Arc::new(Both(Narrator, counters.clone())))
        .build();

    let subjects = ["First report", "Second report", "Third report"];
    for (n, subject) in subjects.iter().enumerate() {
        println!("message {} of {}: {subject:?}", n + 1, subjects.len());
        let body = format!(
            "Hello,\n\nthis is message {} of the smtpwire demo.\n",
            n + 1
        );
        let report = mailer.send_mail(["Ann <ann@example.org>".parse()?], subject, &body)?;
        println!(
            "  => {} attempt(s), {} reconnection(s), Message-ID {}\n",
            report.attempts,
            report.reconnects,
            report
                .message_id
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string)
        );
    }
    mailer.close()?;

    let counts = counters.snapshot();
    println!("observer counts:");
    println!(
        "  attempts {}, successes {}, connections {}, reconnections {}, waits {}",
        counts.attempts, counts.successes, counts.connects, counts.reconnects, counts.sleeps
    );
    println!(
        "  failures: eof {}, reset {}, smtp-421 {}, other smtp {}, timeout {}, tls {}, protocol {}",
        counts.eof,
        counts.reset,
        counts.service_closing,
        counts.smtp_reply,
        counts.timeout,
        counts.tls,
        counts.protocol
    );
    println!("  possible duplicates {}\n", counts.possible_duplicates);

    let received = server.wait_for_messages(subjects.len(), Duration::from_secs(10))?;
    println!("the server received {} messages:", received.len());
    for record in &received {
        print_record(record);
    }
    Ok(())
}

/// The envelope, the main header fields and the first lines of the body.
fn print_record(record: &MessageRecord) {
    println!(
        "--- connection {}, message {}: MAIL FROM:<{}> RCPT TO:{:?}",
        record.connection, record.sequence, record.mail_from, record.recipients
    );
    let text = record.body_text().unwrap_or_default();
    let (header, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    for line in header.split("\r\n") {
        let name = line.split(':').next().unwrap_or_default();
        if ["Date", "From", "To", "Subject", "Message-ID"].contains(&name) {
            println!("    {line}");
        }
    }
    for line in body.split("\r\n").filter(|l| !l.is_empty()).take(2) {
        println!("    | {line}");
    }
}
