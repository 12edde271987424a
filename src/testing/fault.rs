//! Fault injection rules: at which stage, on which connections, doing what.

use std::time::Duration;

/// A point in the conversation where a fault can fire.
///
/// Every stage but [`Stage::MidBody`] stands for "the server's reply to that command": the
/// fault's [`Action`] happens instead of (or around) the reply the server would have sent,
/// whatever that reply would have been (success or error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// The connection was accepted: the `220` greeting.
    Connect,
    /// The reply to `EHLO`.
    Ehlo,
    /// The reply to `HELO`.
    Helo,
    /// The reply to `STARTTLS`.
    StartTls,
    /// The first reply to an `AUTH` command (a `334` challenge, or the final `235`/`535`
    /// when an initial response made the exchange one step).
    Auth,
    /// The reply to `MAIL FROM`.
    Mail,
    /// The reply to each `RCPT TO`.
    Rcpt,
    /// The reply to `DATA` (normally `354`).
    Data,
    /// The reply to a `BDAT` chunk that is not `LAST` (and to any refused `BDAT`).
    Bdat,
    /// While a body arrives, once `after` body octets were received as sent on the wire
    /// (DATA: before un-stuffing, counting from the octet after the `354`; BDAT: chunk data
    /// across chunks). `after: 0` fires before any body octet is read.
    MidBody {
        /// Body octets received before the fault fires.
        after: u64,
    },
    /// The reply after the final `.` of DATA or after `BDAT ... LAST`.
    EndOfData,
    /// The reply to `RSET`.
    Rset,
    /// The reply to `NOOP`.
    Noop,
    /// The reply to `QUIT`.
    Quit,
    /// Any reply at all, including replies to unknown commands (not [`Stage::MidBody`]).
    AnyReply,
}

/// What a fault does when it fires.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Close the connection cleanly (TLS `close_notify` if TLS is up, then FIN), without a
    /// reply.
    Close,
    /// Send this reply, then close cleanly.
    ReplyAndClose {
        /// Reply code, e.g. `421`.
        code: u16,
        /// Reply text, sent as given; a `\n` in it makes a multi-line reply.
        text: String,
    },
    /// Reset the connection: RST instead of FIN (linger zero, then close).
    Reset,
    /// Send nothing more and read (and discard) whatever arrives until the client closes or
    /// the server shuts down.
    Silent,
    /// Wait this long, then send the normal reply and go on. At [`Stage::MidBody`], stop
    /// reading for this long.
    Delay(Duration),
    /// Send this reply instead of the normal one and go on. The session then behaves as the
    /// code says: a 2xx/3xx code has the effect of the normal success (e.g. `354` to DATA
    /// starts the body, `220` to STARTTLS starts TLS, 2xx to RCPT accepts the recipient),
    /// any other code the effect of a refusal. At [`Stage::MidBody`] this is an
    /// unsolicited reply in the middle of the body.
    Reply {
        /// Reply code.
        code: u16,
        /// Reply text, sent as given; a `\n` in it makes a multi-line reply.
        text: String,
    },
    /// Write these octets instead of the normal reply (in one write), then go on as if the
    /// normal reply had been sent. At [`Stage::StartTls`], `b"220 go\r\n250 fake\r\n"`
    /// followed by the TLS handshake is the STARTTLS response-injection attack.
    Raw(Vec<u8>),
}

impl Action {
    /// [`Action::Close`].
    #[must_use]
    pub fn close() -> Self {
        Action::Close
    }

    /// [`Action::ReplyAndClose`], e.g. `Action::reply_and_close(421, "4.4.2 timeout exceeded")`.
    #[must_use]
    pub fn reply_and_close(code: u16, text: impl Into<String>) -> Self {
        Action::ReplyAndClose {
            code,
            text: text.into(),
        }
    }

    /// [`Action::Reset`].
    #[must_use]
    pub fn reset() -> Self {
        Action::Reset
    }

    /// [`Action::Silent`].
    #[must_use]
    pub fn silent() -> Self {
        Action::Silent
    }

    /// [`Action::Delay`].
    #[must_use]
    pub fn delay(duration: Duration) -> Self {
        Action::Delay(duration)
    }

    /// [`Action::Reply`], e.g. `Action::reply(452, "4.3.1 insufficient storage")`.
    #[must_use]
    pub fn reply(code: u16, text: impl Into<String>) -> Self {
        Action::Reply {
            code,
            text: text.into(),
        }
    }

    /// [`Action::Raw`].
    #[must_use]
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        Action::Raw(bytes.into())
    }

    /// Whether the connection ends with this action.
    pub(crate) fn ends_connection(&self) -> bool {
        matches!(
            self,
            Action::Close | Action::ReplyAndClose { .. } | Action::Reset | Action::Silent
        )
    }
}

/// Which connections a fault applies to. Every condition set must hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ConnectionFilter {
    /// Connection number at most this.
    first: Option<u64>,
    /// Connection number exactly this.
    only: Option<u64>,
    /// `(period, start)`: numbers `start, start + period, start + 2 * period, ...`.
    every: Option<(u64, u64)>,
    /// Only the n-th time (1-based) the stage is reached on a connection.
    occurrence: Option<u64>,
}

impl ConnectionFilter {
    fn matches(&self, connection: u64, occurrence: u64) -> bool {
        let first_ok = self.first.is_none_or(|n| connection <= n);
        let only_ok = self.only.is_none_or(|n| connection == n);
        let every_ok = self.every.is_none_or(|(period, start)| {
            // `period` is at least 1 (see `FaultBuilder::every_from`), so `%` cannot panic.
            connection >= start && (connection - start) % period == 0
        });
        let occurrence_ok = self.occurrence.is_none_or(|n| occurrence == n);
        first_ok && only_ok && every_ok && occurrence_ok
    }
}

/// A fault rule: at a [`Stage`], on some connections, do an [`Action`].
///
/// Built with [`Fault::at`]: `Fault::at(Stage::Mail).on_first(5).then(Action::reply_and_close(421,
/// "4.4.2 timeout exceeded"))`. When several rules match the same reply, the first one added
/// to the builder wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    stage: Stage,
    filter: ConnectionFilter,
    action: Action,
}

/// A [`Fault`] still waiting for its [`Action`]; narrow the connections it applies to, then
/// call [`FaultBuilder::then`]. Without narrowing, it applies to every connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a FaultBuilder does nothing until `then(action)` makes it a Fault"]
pub struct FaultBuilder {
    stage: Stage,
    filter: ConnectionFilter,
}

impl Fault {
    /// Starts a rule firing at `stage`, on every connection unless narrowed.
    pub fn at(stage: Stage) -> FaultBuilder {
        FaultBuilder {
            stage,
            filter: ConnectionFilter::default(),
        }
    }

    /// Let's Encrypt boulder's `closeFirst` behaviour in one line: the first `n` connections
    /// are cut at `MAIL`, odd-numbered ones with a clean close and even-numbered ones with
    /// `421 4.4.2 timeout exceeded` then close; connection `n + 1` and later work normally.
    #[must_use]
    pub fn boulder_close_first(n: u64) -> Vec<Fault> {
        vec![
            Fault::at(Stage::Mail)
                .on_first(n)
                .every_from(1, 2)
                .then(Action::close()),
            Fault::at(Stage::Mail)
                .on_first(n)
                .every_from(2, 2)
                .then(Action::reply_and_close(421, "4.4.2 timeout exceeded")),
        ]
    }

    /// The stage this rule fires at.
    #[must_use]
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// What this rule does.
    #[must_use]
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// Whether this rule fires at `stage` on connection `connection` (1-based) the
    /// `occurrence`-th time (1-based) that stage is reached there.
    pub(crate) fn fires(&self, stage: Stage, connection: u64, occurrence: u64) -> bool {
        self.stage == stage && self.filter.matches(connection, occurrence)
    }
}

impl FaultBuilder {
    /// Only connections `1..=n`.
    pub fn on_first(mut self, n: u64) -> Self {
        self.filter.first = Some(n);
        self
    }

    /// Only connection number `n` (1-based).
    pub fn on_connection(mut self, n: u64) -> Self {
        self.filter.only = Some(n);
        self
    }

    /// Every `k`-th connection: `k, 2k, 3k, ...` (a `k` of 0 counts as 1).
    pub fn every(self, k: u64) -> Self {
        let k = k.max(1);
        self.every_from(k, k)
    }

    /// Connections `start, start + k, start + 2k, ...` (a `k` of 0 counts as 1).
    pub fn every_from(mut self, start: u64, k: u64) -> Self {
        self.filter.every = Some((k.max(1), start));
        self
    }

    /// Every connection (the default; clears earlier narrowing).
    pub fn always(mut self) -> Self {
        self.filter = ConnectionFilter::default();
        self
    }

    /// Only the `n`-th time (1-based) the stage is reached on a connection, e.g. the second
    /// `MAIL` of a reused connection, or the third `RCPT`.
    pub fn on_occurrence(mut self, n: u64) -> Self {
        self.filter.occurrence = Some(n);
        self
    }

    /// Completes the rule with what it does.
    #[must_use]
    pub fn then(self, action: Action) -> Fault {
        Fault {
            stage: self.stage,
            filter: self.filter,
            action,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firing_connections(fault: &Fault, stage: Stage) -> Vec<u64> {
        (1..=10).filter(|&c| fault.fires(stage, c, 1)).collect()
    }

    #[test]
    fn filters_select_the_documented_connections() {
        let all = Fault::at(Stage::Mail).then(Action::close());
        assert_eq!(
            firing_connections(&all, Stage::Mail),
            (1..=10).collect::<Vec<_>>()
        );
        assert!(firing_connections(&all, Stage::Rcpt).is_empty());

        let first = Fault::at(Stage::Mail).on_first(3).then(Action::close());
        assert_eq!(firing_connections(&first, Stage::Mail), [1, 2, 3]);

        let every = Fault::at(Stage::Mail).every(3).then(Action::close());
        assert_eq!(firing_connections(&every, Stage::Mail), [3, 6, 9]);

        let odd = Fault::at(Stage::Mail)
            .every_from(1, 2)
            .then(Action::close());
        assert_eq!(firing_connections(&odd, Stage::Mail), [1, 3, 5, 7, 9]);

        let one = Fault::at(Stage::Mail)
            .on_connection(4)
            .then(Action::close());
        assert_eq!(firing_connections(&one, Stage::Mail), [4]);

        let zero = Fault::at(Stage::Mail).every(0).then(Action::close());
        assert_eq!(firing_connections(&zero, Stage::Mail).len(), 10);
    }

    #[test]
    fn occurrence_narrows_to_one_reply_per_connection() {
        let second = Fault::at(Stage::Rcpt)
            .on_occurrence(2)
            .then(Action::close());
        assert!(!second.fires(Stage::Rcpt, 1, 1));
        assert!(second.fires(Stage::Rcpt, 1, 2));
        assert!(!second.fires(Stage::Rcpt, 1, 3));
    }

    #[test]
    fn boulder_close_first_alternates_close_and_421() {
        let faults = Fault::boulder_close_first(4);
        let action_for = |connection: u64| {
            faults
                .iter()
                .find(|f| f.fires(Stage::Mail, connection, 1))
                .map(|f| f.action().clone())
        };
        assert_eq!(action_for(1), Some(Action::Close));
        assert!(matches!(
            action_for(2),
            Some(Action::ReplyAndClose { code: 421, .. })
        ));
        assert_eq!(action_for(3), Some(Action::Close));
        assert!(matches!(
            action_for(4),
            Some(Action::ReplyAndClose { code: 421, .. })
        ));
        assert_eq!(action_for(5), None);
    }
}
