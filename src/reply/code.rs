//! Reply codes (RFC 5321 §4.2) and enhanced status codes (RFC 3463).

use core::fmt;

/// A three-digit SMTP reply code whose first digit is 2 to 5.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 220: service ready.
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221: service closing transmission channel (answer to QUIT).
    pub const SERVICE_CLOSING: ReplyCode = ReplyCode(221);
    /// 235: authentication succeeded.
    pub const AUTH_SUCCEEDED: ReplyCode = ReplyCode(235);
    /// 250: requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 334: authentication continues (a server challenge).
    pub const AUTH_CONTINUE: ReplyCode = ReplyCode(334);
    /// 354: start mail input.
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    /// 421: service not available, closing transmission channel.
    pub const SERVICE_NOT_AVAILABLE: ReplyCode = ReplyCode(421);
    /// 500: syntax error, command unrecognised.
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 502: command not implemented.
    pub const COMMAND_NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);

    /// The code for `value`, or `None` unless it has three digits and the first is 2 to 5.
    pub const fn new(value: u16) -> Option<ReplyCode> {
        let _ = value;
        todo!()
    }

    /// The code as a number, e.g. `421`.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// What the first digit says about the outcome.
    pub const fn severity(self) -> Severity {
        todo!()
    }

    /// What the second digit says the reply is about.
    pub const fn category(self) -> Category {
        todo!()
    }
}

impl fmt::Debug for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplyCode({})", self.0)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The first digit of a reply code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// 2yz: the action completed.
    PositiveCompletion,
    /// 3yz: accepted so far; the client must send more.
    PositiveIntermediate,
    /// 4yz: not done, but trying again later may succeed.
    TransientNegative,
    /// 5yz: not done, and repeating it the same way will fail again.
    PermanentNegative,
}

/// The second digit of a reply code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// x0z: syntax.
    Syntax,
    /// x1z: information.
    Information,
    /// x2z: the transmission channel.
    Connections,
    /// x5z: the mail system.
    MailSystem,
    /// Any other second digit (x3z and x4z are unspecified by RFC 5321).
    Unspecified(u8),
}

/// An enhanced status code (RFC 3463), `class.subject.detail`, such as `4.4.2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnhancedStatusCode {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedStatusCode {
    /// The code `class.subject.detail`, or `None` unless class is 2, 4 or 5 and subject and
    /// detail are at most 999.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<EnhancedStatusCode> {
        let _ = (class, subject, detail);
        todo!()
    }
    /// The class: 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub const fn class(self) -> u8 {
        self.class
    }
    /// The subject, e.g. 4 in `4.4.2`.
    pub const fn subject(self) -> u16 {
        self.subject
    }
    /// The detail, e.g. 2 in `4.4.2`.
    pub const fn detail(self) -> u16 {
        self.detail
    }
}

impl fmt::Display for EnhancedStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}
