//! Opening a ready connection from the mailer's configuration.

use super::config::{Config, EhloIdentity};
use crate::ehlo_name::EhloName;
use crate::session::SessionConfig;
use crate::transport::{self, ConnectOptions, Connection};
use std::net::Ipv4Addr;
use std::time::Instant;

/// A ready connection (greeting, EHLO, TLS and AUTH done), every wait ending by `deadline`.
pub(super) fn dial(
    config: &Config,
    deadline: Option<Instant>,
) -> Result<Connection, transport::Error> {
    Connection::connect(&connect_options(config, deadline))
}

fn connect_options(config: &Config, deadline: Option<Instant>) -> ConnectOptions {
    let (name, from_local_address) = match &config.ehlo {
        EhloIdentity::Name(name) => (name.clone(), false),
        // The transport puts the socket's local address in once it is connected.
        EhloIdentity::LocalAddress => (EhloName::from_ip(Ipv4Addr::LOCALHOST.into()), true),
    };
    let mut session = SessionConfig::new(name);
    session.tls = config.tls_policy;
    session.credentials = config.credentials.clone();
    session.allow_plaintext_auth = config.allow_plaintext_auth;
    session.auth_mechanisms = config.auth_mechanisms.clone();
    session.timeouts = config.timeouts;
    let mut options = ConnectOptions::with_session(config.host.clone(), config.port, session);
    options.ehlo_from_local_address = from_local_address;
    options.connect_timeout = config.connect_timeout;
    options.quit_timeout = config.quit_timeout;
    options.deadline = deadline;
    #[cfg(feature = "tls")]
    {
        options.tls = config.tls.clone();
        options.tls_server_name = config.tls_server_name.clone();
    }
    options
}
