//! The replies a session waits for, in the order the server owes them.
//!
//! Every command the session writes pushes one entry; every reply pops the front one. An entry
//! is *transmitted* once the driver has taken the command's bytes with
//! [`super::Session::poll_transmit`]: a reply can only answer a command the server can have
//! seen, so a reply whose front entry is not transmitted yet is one nothing asked for.

use super::{Step, Timeouts};
use alloc::collections::VecDeque;
use core::time::Duration;

/// What a reply the session waits for will answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Awaiting {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    /// The AUTH command or one response line of the exchange.
    Auth,
    Mail,
    /// RCPT TO for the recipient at this index of the envelope.
    Rcpt(usize),
    /// DATA: the 354 go-ahead.
    Data,
    /// `BDAT n LAST`: the reply after the whole message.
    BdatLast,
    /// The final dot after DATA.
    EndOfData,
    /// RSET; `requested` when the caller asked for it (not after a failed transaction).
    Rset {
        requested: bool,
    },
    Noop,
    Quit,
}

impl Awaiting {
    /// The step a session waiting for this reply is in.
    pub(super) fn step(self) -> Step {
        match self {
            Awaiting::Greeting => Step::Greeting,
            Awaiting::Ehlo => Step::Ehlo,
            Awaiting::Helo => Step::Helo,
            Awaiting::StartTls => Step::StartTls,
            Awaiting::Auth => Step::Auth,
            Awaiting::Mail => Step::Mail,
            Awaiting::Rcpt(_) => Step::Rcpt,
            Awaiting::Data => Step::Data,
            Awaiting::BdatLast | Awaiting::EndOfData => Step::FinalReply,
            Awaiting::Rset { .. } => Step::Rset,
            Awaiting::Noop => Step::Noop,
            Awaiting::Quit => Step::Quit,
        }
    }

    /// How long the server may take to send this reply (RFC 5321 §4.5.3.2).
    pub(super) fn timeout(self, timeouts: &Timeouts) -> Duration {
        match self {
            Awaiting::Greeting => timeouts.greeting,
            Awaiting::Mail => timeouts.mail,
            Awaiting::Rcpt(_) => timeouts.rcpt,
            Awaiting::Data => timeouts.data_init,
            Awaiting::BdatLast | Awaiting::EndOfData => timeouts.data_final,
            Awaiting::Ehlo
            | Awaiting::Helo
            | Awaiting::StartTls
            | Awaiting::Auth
            | Awaiting::Rset { .. }
            | Awaiting::Noop
            | Awaiting::Quit => timeouts.command,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    awaiting: Awaiting,
    transmitted: bool,
}

/// The queue of replies owed by the server.
#[derive(Debug, Default)]
pub(super) struct Outstanding {
    queue: VecDeque<Entry>,
}

/// Why the front of the queue cannot take a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unexpected {
    /// Nothing is outstanding.
    NothingAsked,
    /// The command at the front has not been handed to the driver yet.
    NotYetSent,
}

impl Outstanding {
    /// Waits for one more reply, to a command not transmitted yet.
    pub(super) fn push(&mut self, awaiting: Awaiting) {
        self.queue.push_back(Entry {
            awaiting,
            transmitted: false,
        });
    }

    /// Waits for the greeting, which needs no command.
    pub(super) fn push_transmitted(&mut self, awaiting: Awaiting) {
        self.queue.push_back(Entry {
            awaiting,
            transmitted: true,
        });
    }

    /// Takes the front entry for a reply that just arrived.
    pub(super) fn pop_for_reply(&mut self) -> Result<Awaiting, Unexpected> {
        match self.queue.front() {
            None => Err(Unexpected::NothingAsked),
            Some(entry) if !entry.transmitted => Err(Unexpected::NotYetSent),
            Some(entry) => {
                let awaiting = entry.awaiting;
                self.queue.pop_front();
                Ok(awaiting)
            }
        }
    }

    /// The reply the server owes next.
    pub(super) fn front(&self) -> Option<Awaiting> {
        self.queue.front().map(|e| e.awaiting)
    }

    /// Whether any reply is owed.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether the front reply answers a command the server can have received.
    pub(super) fn front_transmitted(&self) -> bool {
        self.queue.front().is_some_and(|e| e.transmitted)
    }

    /// Records that every queued command has been handed to the driver.
    pub(super) fn mark_all_transmitted(&mut self) {
        for entry in &mut self.queue {
            entry.transmitted = true;
        }
    }

    /// Forgets everything (the session ended).
    pub(super) fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_can_only_answer_a_transmitted_command() {
        let mut q = Outstanding::default();
        assert_eq!(q.pop_for_reply(), Err(Unexpected::NothingAsked));
        q.push(Awaiting::Ehlo);
        assert_eq!(q.pop_for_reply(), Err(Unexpected::NotYetSent));
        q.mark_all_transmitted();
        q.push(Awaiting::Mail);
        assert_eq!(q.pop_for_reply(), Ok(Awaiting::Ehlo));
        assert_eq!(q.pop_for_reply(), Err(Unexpected::NotYetSent));
    }
}
