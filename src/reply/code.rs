//! Reply codes (RFC 5321 §4.2) and enhanced status codes (RFC 3463).

use core::fmt;

/// A three-digit SMTP reply code whose first digit is 2 to 5.
///
/// The constants name the codes of RFC 5321 §4.2.3 and of the extensions smtpwire speaks
/// (RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 7504), so that checks read naturally:
///
/// ```
/// use smtpwire::reply::ReplyCode;
///
/// let code = ReplyCode::new(421).unwrap();
/// assert_eq!(code, ReplyCode::SERVICE_NOT_AVAILABLE);
/// assert!(code.is_transient());
/// assert_eq!(ReplyCode::new(199), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 211: system status, or system help reply.
    pub const SYSTEM_STATUS: ReplyCode = ReplyCode(211);
    /// 214: help message.
    pub const HELP_MESSAGE: ReplyCode = ReplyCode(214);
    /// 220: service ready (the greeting, and the go-ahead for STARTTLS).
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221: service closing transmission channel (answer to QUIT).
    pub const SERVICE_CLOSING: ReplyCode = ReplyCode(221);
    /// 235: authentication succeeded (RFC 4954).
    pub const AUTH_SUCCEEDED: ReplyCode = ReplyCode(235);
    /// 250: requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 251: user not local; the server will forward.
    pub const USER_NOT_LOCAL_WILL_FORWARD: ReplyCode = ReplyCode(251);
    /// 252: cannot verify the user, but the server will accept the message and try.
    pub const CANNOT_VERIFY_USER: ReplyCode = ReplyCode(252);
    /// 334: authentication continues (a server challenge, RFC 4954).
    pub const AUTH_CONTINUE: ReplyCode = ReplyCode(334);
    /// 354: start mail input.
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    /// 421: service not available, closing transmission channel.
    pub const SERVICE_NOT_AVAILABLE: ReplyCode = ReplyCode(421);
    /// 450: mailbox unavailable for now (busy, or temporarily blocked).
    pub const MAILBOX_BUSY: ReplyCode = ReplyCode(450);
    /// 451: action aborted, local error in processing.
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 452: insufficient system storage (also: too many recipients for now).
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 454: temporary failure: TLS not available for now (RFC 3207) or a temporary
    /// authentication failure (RFC 4954).
    pub const TEMPORARY_FAILURE: ReplyCode = ReplyCode(454);
    /// 455: the server cannot accommodate the parameters for now.
    pub const PARAMETERS_NOT_ACCOMMODATED: ReplyCode = ReplyCode(455);
    /// 500: syntax error, command unrecognised (also: line too long).
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501: syntax error in parameters or arguments.
    pub const PARAMETER_SYNTAX_ERROR: ReplyCode = ReplyCode(501);
    /// 502: command not implemented.
    pub const COMMAND_NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503: bad sequence of commands.
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 504: command parameter not implemented.
    pub const PARAMETER_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    /// 521: this host does not accept mail (RFC 7504).
    pub const DOES_NOT_ACCEPT_MAIL: ReplyCode = ReplyCode(521);
    /// 530: authentication required, or STARTTLS required first (RFC 4954, RFC 3207).
    pub const AUTH_REQUIRED: ReplyCode = ReplyCode(530);
    /// 534: authentication mechanism too weak (RFC 4954).
    pub const AUTH_MECHANISM_TOO_WEAK: ReplyCode = ReplyCode(534);
    /// 535: authentication credentials invalid (RFC 4954).
    pub const AUTH_CREDENTIALS_INVALID: ReplyCode = ReplyCode(535);
    /// 550: mailbox unavailable (not found, no access, or refused by policy).
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 551: user not local; the server will not forward.
    pub const USER_NOT_LOCAL: ReplyCode = ReplyCode(551);
    /// 552: exceeded storage allocation (message too big).
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    /// 553: mailbox name not allowed (syntax).
    pub const MAILBOX_NAME_NOT_ALLOWED: ReplyCode = ReplyCode(553);
    /// 554: transaction failed (or, as a greeting, no SMTP service here).
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);
    /// 555: MAIL FROM or RCPT TO parameters not recognised or not implemented.
    pub const PARAMETERS_NOT_RECOGNIZED: ReplyCode = ReplyCode(555);

    /// The code for `value`, or `None` unless it has three digits and the first is 2 to 5
    /// (that is, unless `value` is in `200..=599`).
    pub const fn new(value: u16) -> Option<ReplyCode> {
        if value >= 200 && value <= 599 {
            Some(ReplyCode(value))
        } else {
            None
        }
    }

    /// The code as a number, e.g. `421`.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// What the first digit says about the outcome.
    pub const fn severity(self) -> Severity {
        // `new` admits only 200..=599, so the first digit is 2, 3, 4 or 5.
        match self.0 / 100 {
            2 => Severity::PositiveCompletion,
            3 => Severity::PositiveIntermediate,
            4 => Severity::TransientNegative,
            _ => Severity::PermanentNegative,
        }
    }

    /// What the second digit says the reply is about.
    pub const fn category(self) -> Category {
        match (self.0 / 10) % 10 {
            0 => Category::Syntax,
            1 => Category::Information,
            2 => Category::Connections,
            5 => Category::MailSystem,
            // `% 10` keeps the digit below 10, so it fits a `u8`.
            other => Category::Unspecified(other as u8),
        }
    }

    /// 2yz or 3yz: the server did, or is ready to continue with, what was asked.
    pub const fn is_positive(self) -> bool {
        self.0 < 400
    }

    /// 2yz: the action completed.
    pub const fn is_completion(self) -> bool {
        matches!(self.severity(), Severity::PositiveCompletion)
    }

    /// 3yz: accepted so far; the client must send more (354 to DATA, 334 to AUTH).
    pub const fn is_intermediate(self) -> bool {
        matches!(self.severity(), Severity::PositiveIntermediate)
    }

    /// 4yz or 5yz: the action was not taken.
    pub const fn is_negative(self) -> bool {
        self.0 >= 400
    }

    /// 4yz: not done, but the same request may succeed later.
    pub const fn is_transient(self) -> bool {
        matches!(self.severity(), Severity::TransientNegative)
    }

    /// 5yz: not done, and repeating the same request will fail again.
    pub const fn is_permanent(self) -> bool {
        matches!(self.severity(), Severity::PermanentNegative)
    }
}

impl TryFrom<u16> for ReplyCode {
    type Error = InvalidReplyCode;

    fn try_from(value: u16) -> Result<ReplyCode, InvalidReplyCode> {
        ReplyCode::new(value).ok_or(InvalidReplyCode(value))
    }
}

impl From<ReplyCode> for u16 {
    fn from(code: ReplyCode) -> u16 {
        code.0
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

/// A number that is not a reply code (not in `200..=599`); the error of
/// `ReplyCode::try_from(u16)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not an SMTP reply code (200 to 599)")]
pub struct InvalidReplyCode(pub u16);

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
///
/// Servers that advertise `ENHANCEDSTATUSCODES` (RFC 2034) put one at the start of the first
/// reply line, behind the reply code: `421 4.4.2 timeout exceeded`.
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
        if matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999 {
            Some(EnhancedStatusCode {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
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
