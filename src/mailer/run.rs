//! The attempt loop behind every send and `connect`: dial when needed, try, and on failure
//! decide between giving up and waiting before the next attempt.

use super::Mailer;
use super::body::{self, BodySource};
use super::config::UnknownOutcome;
use super::dial;
use super::error::SendError;
use super::observer::{FailureKind, MailerEvent};
use super::report::{Progress, SendReport};
use crate::session::{Delivery, Envelope, MessageFate};
use crate::transport::{self, Connection};
use std::time::{Duration, Instant};

/// One send's (or `connect`'s) state across its attempts.
struct Run {
    /// The whole-send deadline, on the mailer's clock.
    deadline: Option<Instant>,
    progress: Progress,
    /// Dials made after a failed attempt, for the backoff schedule.
    redials: u32,
}

/// Why the attempts stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    NotRetried,
    GaveUp,
    Deadline,
    OutcomeUnknown,
    NotResendable,
}

impl Stop {
    fn error(self, error: transport::Error, progress: Progress) -> SendError {
        match self {
            Stop::NotRetried => SendError::NotRetried { error, progress },
            Stop::GaveUp => SendError::GaveUp { error, progress },
            Stop::Deadline => SendError::DeadlineExceeded { error, progress },
            Stop::OutcomeUnknown => SendError::OutcomeUnknown { error, progress },
            Stop::NotResendable => SendError::BodyNotResendable { error, progress },
        }
    }
}

/// Whether a failed dial is worth another: the connection-loss errors, and a dial that
/// reached nobody (refused, unreachable, unresolved). Certificates, TLS policy, AUTH and
/// protocol violations are permanent.
fn dial_retryable(error: &transport::Error) -> bool {
    error.is_reconnectable()
        || matches!(
            error,
            transport::Error::Connect { .. } | transport::Error::Resolve { .. }
        )
}

impl Mailer {
    pub(super) fn run_connect(&mut self) -> Result<(), SendError> {
        let mut run = self.start_run();
        // Bounded: every turn is an attempt, and `after_failure` stops at `max_attempts`.
        loop {
            self.begin_attempt(&mut run);
            let deadline = self.socket_deadline(&run);
            match self.ensure_connected(&mut run, deadline) {
                Ok(_) => return Ok(()),
                Err(error) => {
                    let retryable = dial_retryable(&error);
                    self.after_failure(&mut run, None, error, retryable, true)?;
                }
            }
        }
    }

    pub(super) fn run_send(
        &mut self,
        envelope: &Envelope,
        body: &mut dyn BodySource,
    ) -> Result<SendReport, SendError> {
        let mut run = self.start_run();
        // Recipients refused during an interrupted attempt are removed from it.
        let mut envelope = envelope.clone();
        // Bounded: every turn is an attempt, and `after_failure` stops at `max_attempts`.
        loop {
            self.begin_attempt(&mut run);
            let deadline = self.socket_deadline(&run);
            let result = match self.ensure_connected(&mut run, deadline) {
                Ok(connection) => send_over(connection, &envelope, body, deadline),
                Err(error) => Err(Attempt::Dial(error)),
            };
            let (error, retryable) = match result {
                Ok(delivery) => return Ok(self.delivered(run, delivery)),
                Err(Attempt::Rewind(source)) => {
                    let progress = run.progress;
                    return Err(self.failed(SendError::Body { source, progress }));
                }
                Err(Attempt::Dial(error)) => {
                    let retryable = dial_retryable(&error);
                    (error, retryable)
                }
                Err(Attempt::Send(error)) => {
                    self.drop_unusable_connection();
                    let retryable = error.is_reconnectable();
                    (error, retryable)
                }
            };
            let resendable = body.resendable();
            self.after_failure(&mut run, Some(&mut envelope), error, retryable, resendable)?;
        }
    }

    fn start_run(&self) -> Run {
        let deadline = self
            .config
            .send_deadline
            .and_then(|limit| self.config.clock.now().checked_add(limit));
        Run {
            deadline,
            progress: Progress::default(),
            redials: 0,
        }
    }

    fn begin_attempt(&self, run: &mut Run) {
        run.progress.attempts = run.progress.attempts.saturating_add(1);
        self.emit(&MailerEvent::AttemptStarted {
            attempt: run.progress.attempts,
            max_attempts: self.config.max_attempts,
        });
    }

    /// The usable connection, or a new one in place of a dead one.
    fn ensure_connected(
        &mut self,
        run: &mut Run,
        deadline: Option<Instant>,
    ) -> Result<&mut Connection, transport::Error> {
        match self.connection.take() {
            Some(connection) if connection.is_usable() => {
                return Ok(self.connection.insert(connection));
            }
            // Closed by a failure, or left without a ready session: no QUIT is possible.
            Some(stale) => drop(stale.close()),
            None => {}
        }
        let connection = dial::dial(&self.config, deadline)?;
        let reconnect = run.progress.attempts > 1;
        let (host, port) = (&self.config.host, self.config.port);
        if reconnect {
            run.progress.reconnects = run.progress.reconnects.saturating_add(1);
            log::info!("smtpwire: reconnected to {host}:{port}");
        } else {
            log::debug!("smtpwire: connected to {host}:{port}");
        }
        self.emit(&MailerEvent::Connected { reconnect });
        Ok(self.connection.insert(connection))
    }

    /// Closes the connection after a failed send unless it can take another message (a
    /// refusal leaves it usable).
    fn drop_unusable_connection(&mut self) {
        if let Some(connection) = self.connection.take() {
            if connection.is_usable() {
                self.connection = Some(connection);
            } else {
                drop(connection.close());
            }
        }
    }

    /// The whole-send deadline as a real instant for the connection: the time left on the
    /// mailer's clock, from now.
    fn socket_deadline(&self, run: &Run) -> Option<Instant> {
        let left = run
            .deadline?
            .saturating_duration_since(self.config.clock.now());
        Instant::now().checked_add(left)
    }

    /// Decides what follows a failed attempt: an error for the caller, or (after the wait
    /// the backoff asks for) another attempt.
    fn after_failure(
        &mut self,
        run: &mut Run,
        envelope: Option<&mut Envelope>,
        error: transport::Error,
        retryable: bool,
        resendable: bool,
    ) -> Result<(), SendError> {
        let attempt = run.progress.attempts;
        let verdict = self.verdict(run, envelope, &error, retryable, resendable);
        let kind = FailureKind::of(&error);
        self.emit(&MailerEvent::AttemptFailed {
            attempt,
            kind,
            error: &error,
            will_retry: verdict.is_ok(),
        });
        let (host, port, max) = (
            &self.config.host,
            self.config.port,
            self.config.max_attempts,
        );
        log::warn!(
            "smtpwire: attempt {attempt} of {max} to {host}:{port} failed ({kind}): {error}"
        );
        let delay = match verdict {
            Ok(delay) => delay,
            Err(stop) => {
                let progress = std::mem::take(&mut run.progress);
                return Err(self.failed(stop.error(error, progress)));
            }
        };
        if error.interruption().map(|i| i.fate) == Some(MessageFate::Unknown) {
            log::warn!(
                "smtpwire: connection to {host}:{port} lost after the end of the message; \
                 sending it again may deliver it twice"
            );
            self.emit(&MailerEvent::PossibleDuplicate { attempt });
        }
        run.redials = run.redials.saturating_add(1);
        if !delay.is_zero() {
            let next_attempt = attempt.saturating_add(1);
            log::info!(
                "smtpwire: sleeping for {delay:?} before reconnecting to {host}:{port} \
                 (attempt {next_attempt} of {max})"
            );
            self.emit(&MailerEvent::Sleeping {
                delay,
                next_attempt,
            });
            self.config.clock.sleep(delay);
        }
        Ok(())
    }

    /// The wait before the next attempt, or why there is none. Takes note of what an
    /// interruption says about the recipients and the message.
    fn verdict(
        &mut self,
        run: &mut Run,
        envelope: Option<&mut Envelope>,
        error: &transport::Error,
        retryable: bool,
        resendable: bool,
    ) -> Result<Duration, Stop> {
        if !retryable {
            return Err(Stop::NotRetried);
        }
        if let Some(envelope) = envelope {
            if let Some(interruption) = error.interruption() {
                if interruption.fate != MessageFate::NoMessage {
                    run.progress
                        .refused
                        .extend(interruption.refused.iter().cloned());
                    envelope.recipients.clone_from(&interruption.unresolved);
                }
                if interruption.fate == MessageFate::Unknown {
                    run.progress.possible_duplicate = true;
                    if self.config.unknown_outcome == UnknownOutcome::Fail {
                        return Err(Stop::OutcomeUnknown);
                    }
                }
            }
            if envelope.recipients.is_empty() {
                // Every recipient was refused before the cut: nobody is left to send to.
                return Err(Stop::NotRetried);
            }
            if !resendable {
                return Err(Stop::NotResendable);
            }
        }
        if run.progress.attempts >= self.config.max_attempts {
            return Err(Stop::GaveUp);
        }
        let now = self.config.clock.now();
        let delay = self
            .config
            .backoff
            .delay(run.redials.saturating_add(1), &mut self.jitter);
        match run.deadline {
            // No retry starts at or after the deadline, and no wait runs into it.
            Some(deadline) if now.checked_add(delay).is_none_or(|end| end >= deadline) => {
                Err(Stop::Deadline)
            }
            _ => Ok(delay),
        }
    }

    fn delivered(&self, run: Run, delivery: Delivery) -> SendReport {
        let Run { progress, .. } = run;
        self.emit(&MailerEvent::Delivered {
            attempts: progress.attempts,
            reply: &delivery.reply,
        });
        let mut recipients = progress.refused;
        recipients.extend(delivery.recipients);
        SendReport {
            reply: delivery.reply,
            recipients,
            attempts: progress.attempts,
            reconnects: progress.reconnects,
            possible_duplicate: progress.possible_duplicate,
            message_id: None,
        }
    }

    /// Reports a final failure to the observer and the log, and returns it.
    pub(super) fn failed(&self, error: SendError) -> SendError {
        log::warn!(
            "smtpwire: sending to {}:{} failed: {error}",
            self.config.host,
            self.config.port
        );
        self.emit(&MailerEvent::Failed { error: &error });
        error
    }

    fn emit(&self, event: &MailerEvent<'_>) {
        if let Some(observer) = &self.config.observer {
            observer.on_event(event);
        }
    }
}

/// How an attempt failed.
enum Attempt {
    /// Opening the connection failed.
    Dial(transport::Error),
    /// The body could not be rewound.
    Rewind(std::io::Error),
    /// The transaction failed.
    Send(transport::Error),
}

/// One transmission of the message: rewind the body, send it within `deadline`.
fn send_over(
    connection: &mut Connection,
    envelope: &Envelope,
    body: &mut dyn BodySource,
    deadline: Option<Instant>,
) -> Result<Delivery, Attempt> {
    body.rewind().map_err(Attempt::Rewind)?;
    connection.set_deadline(deadline);
    let result = body::send_body(connection, envelope, body);
    connection.set_deadline(None);
    result.map_err(Attempt::Send)
}
