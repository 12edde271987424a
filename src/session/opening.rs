//! The opening of a session: greeting, EHLO (HELO fallback), STARTTLS and AUTH.
//!
//! Decisions about TLS and credentials are made from the session's own state (is TLS up,
//! was STARTTLS already sent), never from what the server claims.

use super::mail::is_positive;
use super::outstanding::Awaiting;
use super::{Phase, ProtocolViolation, Session, SessionError, Step, TlsPolicy};
use crate::auth::AuthExchange;
use crate::capabilities::Capabilities;
use crate::command::Command;
use crate::reply::{Reply, ReplyCode};
use crate::time::Timestamp;

impl Session {
    pub(super) fn on_greeting(&mut self, reply: Reply, now: Timestamp) {
        if reply.code() == ReplyCode::SERVICE_READY {
            self.send_ehlo(now);
        } else {
            self.fail(SessionError::Refused {
                step: Step::Greeting,
                reply,
            });
        }
    }

    pub(super) fn on_ehlo(&mut self, reply: Reply, now: Timestamp) {
        if is_positive(&reply) {
            self.capabilities = Some(Capabilities::from_ehlo_reply(&reply));
            return self.after_hello(now);
        }
        let not_understood = matches!(reply.code().get(), 500 | 502);
        if !not_understood {
            return self.fail(SessionError::Refused {
                step: Step::Ehlo,
                reply,
            });
        }
        if self.config.tls == TlsPolicy::Required && !self.tls_up {
            // HELO cannot offer STARTTLS: falling back would strip TLS.
            return self.fail(SessionError::TlsUnavailable { reply: Some(reply) });
        }
        Command::Helo(&self.config.ehlo_name).encode(&mut self.transmit);
        self.expect(Awaiting::Helo, now);
    }

    pub(super) fn on_helo(&mut self, reply: Reply, now: Timestamp) {
        if is_positive(&reply) {
            self.capabilities = Some(Capabilities::none());
            self.after_hello(now);
        } else {
            self.fail(SessionError::Refused {
                step: Step::Helo,
                reply,
            });
        }
    }

    /// After a positive EHLO or HELO: STARTTLS, AUTH or ready, by policy and our own state.
    fn after_hello(&mut self, now: Timestamp) {
        let offered = self
            .capabilities
            .as_ref()
            .is_some_and(Capabilities::starttls);
        if !self.tls_up && !self.starttls_sent {
            match self.config.tls {
                TlsPolicy::Required if !offered => {
                    return self.fail(SessionError::TlsUnavailable { reply: None });
                }
                TlsPolicy::Required | TlsPolicy::Opportunistic if offered => {
                    self.starttls_sent = true;
                    Command::StartTls.encode(&mut self.transmit);
                    return self.expect(Awaiting::StartTls, now);
                }
                _ => {}
            }
        }
        self.authenticate(now);
    }

    pub(super) fn on_starttls(&mut self, reply: Reply, now: Timestamp) {
        // Only 220 starts TLS (CVE-2016-0772): any other reply is a refusal.
        if reply.code() == ReplyCode::SERVICE_READY {
            let deadline = now.saturating_add(self.config.timeouts.command);
            // `handle_input` emits `Event::StartTls` once it knows nothing follows the 220.
            self.phase = Phase::TlsHandshake { deadline };
        } else if self.config.tls == TlsPolicy::Required {
            self.fail(SessionError::TlsUnavailable { reply: Some(reply) });
        } else {
            self.authenticate(now);
        }
    }

    fn authenticate(&mut self, now: Timestamp) {
        let Some(credentials) = &self.config.credentials else {
            return self.become_idle();
        };
        if !self.tls_up && !self.config.allow_plaintext_auth {
            // Decided from our own state, never from what the server advertises
            // (CVE-2017-15042).
            return self.fail(SessionError::AuthRequiresTls);
        }
        let offered = self
            .capabilities
            .as_ref()
            .map_or(&[][..], Capabilities::auth_mechanisms);
        // A mechanism both sides know, in the caller's order if one was given; `start` refuses
        // only a mechanism the credentials cannot serve, which is never chosen here.
        let mechanism = match &self.config.auth_mechanisms {
            Some(preferred) => preferred
                .iter()
                .find(|m| credentials.mechanisms().contains(m) && offered.contains(m)),
            None => credentials.preferred_mechanism(offered),
        };
        let exchange = mechanism.and_then(|mechanism| {
            AuthExchange::start(mechanism, credentials, &mut self.transmit).ok()
        });
        match exchange {
            Some(exchange) => {
                self.auth = Some(exchange);
                self.expect(Awaiting::Auth, now);
            }
            None => self.fail(SessionError::AuthUnavailable),
        }
    }

    pub(super) fn on_auth(&mut self, reply: Reply, now: Timestamp) {
        if reply.code() == ReplyCode::AUTH_CONTINUE {
            let challenge = reply.lines().next().unwrap_or_default();
            let responded = match self.auth.as_mut() {
                Some(exchange) => exchange.respond(challenge, &mut self.transmit).is_ok(),
                None => false,
            };
            return if responded {
                self.expect(Awaiting::Auth, now)
            } else {
                self.fail_protocol(ProtocolViolation::UnexpectedCode(reply))
            };
        }
        self.auth = None;
        if is_positive(&reply) {
            self.become_idle();
        } else {
            self.fail(SessionError::AuthFailed { reply });
        }
    }

    pub(super) fn send_ehlo(&mut self, now: Timestamp) {
        Command::Ehlo(&self.config.ehlo_name).encode(&mut self.transmit);
        self.expect(Awaiting::Ehlo, now);
    }
}
