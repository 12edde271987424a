//! The `send` example as users run it, and the `demo` example, each as a real process.
//!
//! How the binaries are found: `cargo build --example send --example demo
//! --message-format=json` is run once per test process, with the cargo that runs the tests
//! (`env!("CARGO")`), in this package, with the environment inherited (so the same
//! `CARGO_TARGET_DIR`) but for the package variables cargo sets for tests, and the same
//! profile; the path of each binary is read from cargo's `compiler-artifact` messages. Cargo does not hold its build lock while tests run, and a
//! `cargo test` has usually built the examples already, so this is quick; it also works
//! when only this test target was built, and never picks up a stale binary.

use smtpwire::testing::{Action, Fault, Server, Stage};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Paths of the `send` and `demo` binaries.
fn binaries() -> &'static (PathBuf, PathBuf) {
    static BINARIES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let mut command = Command::new(env!("CARGO"));
        // Cargo gives the test process its package's variables; build scripts that watch
        // them (ring's does) would see a change and rebuild, and the next plain `cargo
        // build` would rebuild them back. Leave them out.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_for_tests = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CFG_"]
                .iter()
                .any(|prefix| name.starts_with(prefix))
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                    "OUT_DIR",
                ]
                .contains(&name.as_ref());
            if set_for_tests {
                command.env_remove(name.as_ref());
            }
        }
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--example", "send", "--example", "demo"])
            .args(["--message-format=json-render-diagnostics", "--quiet"]);
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        let output = command.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "building the examples failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let find = |name: &str| {
            stdout
                .lines()
                .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
                .filter(|line| line.contains(r#""kind":["example"]"#))
                .filter(|line| line.contains(&format!(r#""name":"{name}""#)))
                .find_map(executable)
                .unwrap_or_else(|| panic!("no executable for example {name} in:\n{stdout}"))
        };
        (find("send"), find("demo"))
    })
}

/// The `"executable"` path of one cargo JSON message.
fn executable(line: &str) -> Option<PathBuf> {
    let start = line.find(r#""executable":""#)? + r#""executable":""#.len();
    let mut path = String::new();
    let mut chars = line[start..].chars();
    // Bounded by the line's length.
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(PathBuf::from(path)),
            '\\' => path.push(chars.next()?),
            c => path.push(c),
        }
    }
    None
}

/// How a run ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `program` with `args` and `stdin`, killing it after `limit`.
fn run(program: &PathBuf, args: &[&str], stdin: &[u8], limit: Duration) -> Run {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        // The program may exit without reading (usage errors): ignore a broken pipe.
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    writer.join().unwrap();
    let run = Run {
        code: status.and_then(|s| s.code()),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        took,
    };
    assert!(status.is_some(), "killed after {limit:?}: {}", run.stderr);
    run
}

fn send(args: &[&str], stdin: &[u8]) -> Run {
    run(&binaries().0, args, stdin, Duration::from_secs(60))
}

/// Runs `send` against `server` from a@example.com with TLS off, `args` added (one more
/// `--to` at least).
fn send_to(server: &Server, args: &[&str], stdin: &[u8]) -> Run {
    let target = format!("127.0.0.1:{}", server.addr().port());
    let mut all = vec![
        "--server",
        &target,
        "--from",
        "a@example.com",
        "--tls",
        "none",
    ];
    all.extend_from_slice(args);
    send(&all, stdin)
}

#[test]
fn a_message_is_sent_byte_for_byte_after_normalisation() {
    let server = Server::builder().start().unwrap();
    // Bare LF line endings, a line starting with a dot, no final line ending.
    let input =
        b"From: a@example.com\nTo: b@example.org\nSubject: cli\n\nfirst line\n.dot line\nlast";

    let run = send_to(&server, &["--to", "b@example.org"], input);

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "", "nothing is printed without -v");
    let messages = server
        .wait_for_messages(1, Duration::from_secs(10))
        .unwrap();
    assert_eq!(messages[0].mail_from, "a@example.com");
    assert_eq!(messages[0].recipients, ["b@example.org"]);
    assert_eq!(
        messages[0].body.as_deref(),
        Some(
            b"From: a@example.com\r\nTo: b@example.org\r\nSubject: cli\r\n\r\nfirst line\r\n\
.dot line\r\nlast\r\n" as &[u8]
        )
    );
}

#[test]
fn count_sends_that_many_transactions_over_one_connection() {
    let server = Server::builder().start().unwrap();

    let run = send_to(
        &server,
        &[
            "--to",
            "b@example.org",
            "--to",
            "c@example.org",
            "--count",
            "3",
            "-v",
        ],
        b"Subject: three\r\n\r\nhi\r\n",
    );

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("message 3 of 3"), "{}", run.stderr);
    let messages = server
        .wait_for_messages(3, Duration::from_secs(10))
        .unwrap();
    assert!(messages.iter().all(|m| m.connection == 1));
    assert!(
        messages
            .iter()
            .all(|m| m.recipients == ["b@example.org", "c@example.org"])
    );
}

#[test]
fn reconnections_are_shown_with_verbose() {
    let server = Server::builder()
        .faults(Fault::boulder_close_first(2))
        .start()
        .unwrap();

    let run = send_to(
        &server,
        &["--to", "b@example.org", "--attempts", "3", "-v"],
        b"Subject: again\r\n\r\nhi\r\n",
    );

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("reconnected"), "{}", run.stderr);
    assert!(run.stderr.contains("sleeping for"), "{}", run.stderr);
    assert!(run.stderr.contains("3 attempt(s)"), "{}", run.stderr);
}

#[test]
fn a_rejected_recipient_exits_1_with_one_error_line() {
    let server = Server::builder()
        .recipient_reply("nobody@example.org", 550, "5.1.1 No such user here")
        .start()
        .unwrap();

    let run = send_to(
        &server,
        &["--to", "nobody@example.org"],
        b"Subject: x\r\n\r\nx\r\n",
    );

    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: rejected: "),
        "{}",
        run.stderr
    );
    assert_eq!(server.connection_count(), 1, "a refusal is not retried");
}

#[test]
fn a_silent_server_fails_by_the_timeout() {
    let server = Server::builder()
        .fault(Fault::at(Stage::Mail).then(Action::silent()))
        .start()
        .unwrap();

    let run = send_to(
        &server,
        &["--to", "b@example.org", "--timeout", "2"],
        b"Subject: x\r\n\r\nx\r\n",
    );

    assert_eq!(run.code, Some(1));
    assert!(run.stderr.starts_with("error: timeout: "), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    // The deadline covers the retries: far less than 5 attempts × 2 s plus backoff.
    assert!(run.took < Duration::from_secs(9), "took {:?}", run.took);
}

#[test]
fn usage_errors_exit_2() {
    const VALID: &str = "--server 127.0.0.1:25 --from a@example.com --to b@example.org";
    let cases = [
        String::new(),
        "--from a@example.com --to b@example.org".to_owned(),
        "--server 127.0.0.1:25 --to b@example.org".to_owned(),
        "--server 127.0.0.1:25 --from a@example.com".to_owned(),
        "--server 127.0.0.1 --from a@example.com --to b@example.org".to_owned(),
        "--server 127.0.0.1:25 --from not-an-address --to b@example.org".to_owned(),
        format!("{VALID} --tls sometimes"),
        format!("{VALID} --count 0"),
        format!("{VALID} --attempts many"),
        format!("{VALID} --user u"),
        format!("{VALID} --bogus"),
        format!("{VALID} --timeout"),
        format!("{VALID} --timeout -1"),
    ];
    for case in &cases {
        let args: Vec<&str> = case.split_whitespace().collect();
        let run = send(&args, b"");
        assert_eq!(run.code, Some(2), "{case:?}: {}", run.stderr);
        assert!(run.stderr.contains("usage:"), "{case:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn the_demo_shows_the_reconnections_and_the_delivered_messages() {
    let run = run(&binaries().1, &[], b"", Duration::from_secs(60));

    assert_eq!(
        run.code,
        Some(0),
        "stderr: {}\nstdout: {}",
        run.stderr,
        run.stdout
    );
    let out = &run.stdout;
    assert!(out.contains("reconnected"), "{out}");
    assert!(out.contains("sleeping for"), "{out}");
    assert!(out.contains("421"), "{out}");
    assert!(out.contains("the server received 3 messages"), "{out}");
    assert_eq!(out.matches("Message-ID: <").count(), 3, "{out}");
    assert!(out.contains("Subject: Third report"), "{out}");
    assert!(out.contains("reconnections 4"), "{out}");
}
