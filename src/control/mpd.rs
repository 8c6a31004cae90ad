//! A small client for MPD's text protocol over TCP: what localplay needs, nothing more.
//!
//! Written here rather than taken from a crate: the `mpd` crate is blocking (std
//! sockets, which would hold a runtime worker for every call) and `mpd_client` brings
//! its own protocol crate, `bytes` and a background connection task for features
//! (idle, binary responses) localplay never uses. The protocol is line based: the
//! server greets with `OK MPD <version>`, every command answers `key: value` lines
//! ended by `OK`, or one `ACK [code@index] {command} message` line.
//!
//! One connection per API request: MPD closes idle clients after a minute anyway, and
//! nothing then lives in one tonearm process's memory.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long connecting, and each answer, may take before MPD counts as unreachable:
/// a player on the local network answers in milliseconds.
const TIMEOUT: Duration = Duration::from_secs(5);

/// An answer line longer than this is a broken peer, not MPD (whose longest lines are
/// tag values of a few KB).
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MpdError {
    #[error("cannot reach MPD: {0}")]
    Io(#[from] std::io::Error),
    #[error("MPD did not answer within {} seconds", TIMEOUT.as_secs())]
    Timeout,
    #[error("not an MPD answer: {0}")]
    Protocol(String),
    /// MPD refused the command (`ACK`): a bad password, a failed `play`, ...
    #[error("MPD refused {command}: {message}")]
    Ack {
        code: i64,
        command: String,
        message: String,
    },
}

impl MpdError {
    /// MPD answered, but no to this command.
    pub fn is_refusal(&self) -> bool {
        matches!(self, MpdError::Ack { .. })
    }
}

/// `key: value` pairs of an answer, in MPD's order.
pub type Pairs = Vec<(String, String)>;

pub struct Mpd {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

async fn timed<T>(
    work: impl std::future::Future<Output = Result<T, MpdError>>,
) -> Result<T, MpdError> {
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| MpdError::Timeout)?
}

impl Mpd {
    /// Connects, reads the greeting, and sends the password when there is one.
    pub async fn connect(host: &str, port: u16, password: Option<&str>) -> Result<Mpd, MpdError> {
        let stream = timed(async { Ok(TcpStream::connect((host, port)).await?) }).await?;
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        let mut mpd = Mpd {
            reader: BufReader::new(read),
            writer,
        };
        let greeting = timed(mpd.read_line()).await?;
        if !greeting.starts_with("OK MPD ") {
            return Err(MpdError::Protocol(shorten(&greeting)));
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            mpd.command("password", &[password]).await?;
        }
        Ok(mpd)
    }

    /// Runs one command with its arguments (each quoted); its answer's pairs.
    pub async fn command(&mut self, name: &str, args: &[&str]) -> Result<Pairs, MpdError> {
        let line = command_line(name, args)?;
        timed(async {
            self.writer.write_all(line.as_bytes()).await?;
            self.read_answer().await
        })
        .await
    }

    /// Runs several commands as one command list: MPD applies them in order and stops
    /// at the first that fails, and no other client's command runs between them.
    pub async fn command_list(&mut self, commands: &[(&str, Vec<&str>)]) -> Result<(), MpdError> {
        let mut text = String::from("command_list_begin\n");
        for (name, args) in commands {
            text.push_str(&command_line(name, args)?);
        }
        text.push_str("command_list_end\n");
        timed(async {
            self.writer.write_all(text.as_bytes()).await?;
            self.read_answer().await
        })
        .await?;
        Ok(())
    }

    async fn read_line(&mut self) -> Result<String, MpdError> {
        let mut line = String::new();
        let read = (&mut self.reader)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await?;
        if read == 0 {
            return Err(MpdError::Protocol("the connection closed".into()));
        }
        if !line.ends_with('\n') {
            return Err(MpdError::Protocol("an answer line is too long".into()));
        }
        line.pop();
        Ok(line)
    }

    async fn read_answer(&mut self) -> Result<Pairs, MpdError> {
        let mut pairs = Vec::new();
        loop {
            let line = self.read_line().await?;
            if line == "OK" {
                return Ok(pairs);
            }
            if let Some(ack) = line.strip_prefix("ACK ") {
                return Err(parse_ack(ack));
            }
            match line.split_once(": ") {
                Some((key, value)) => pairs.push((key.to_string(), value.to_string())),
                None => return Err(MpdError::Protocol(shorten(&line))),
            }
        }
    }
}

/// `name "arg" "arg"\n`, refusing what cannot be sent on one line.
fn command_line(name: &str, args: &[&str]) -> Result<String, MpdError> {
    let mut line = name.to_string();
    for arg in args {
        if arg.contains(['\n', '\r', '\0']) {
            return Err(MpdError::Protocol(
                "an argument holds a line break".to_string(),
            ));
        }
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line.push('\n');
    Ok(line)
}

/// An argument in double quotes, with `"` and `\` escaped as MPD reads them.
pub fn quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `[50@0] {play} No such song`.
fn parse_ack(text: &str) -> MpdError {
    let code = text
        .strip_prefix('[')
        .and_then(|rest| rest.split_once('@'))
        .and_then(|(code, _)| code.parse().ok())
        .unwrap_or(0);
    let after = text.split_once("] ").map_or(text, |(_, rest)| rest);
    let (command, message) = match after
        .strip_prefix('{')
        .and_then(|rest| rest.split_once("} "))
    {
        Some((command, message)) => (command.to_string(), message.to_string()),
        None => (String::new(), after.to_string()),
    };
    MpdError::Ack {
        code,
        command,
        message,
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The value of `key` in an answer.
pub fn value<'a>(pairs: &'a Pairs, key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    #[test]
    fn arguments_are_quoted_and_escaped() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(
            command_line("add", &["http://h/p?a=1&b=2"]).unwrap(),
            "add \"http://h/p?a=1&b=2\"\n"
        );
        assert!(command_line("add", &["x\nclear"]).is_err());
    }

    #[test]
    fn acks_are_read() {
        match parse_ack("[50@0] {play} No such song") {
            MpdError::Ack {
                code,
                command,
                message,
            } => {
                assert_eq!((code, command.as_str()), (50, "play"));
                assert_eq!(message, "No such song");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A peer that greets like MPD and answers each line from a script.
    async fn scripted(answers: Vec<&'static str>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"OK MPD 0.23.5\n").await.unwrap();
            for answer in answers {
                if lines.next_line().await.unwrap().is_none() {
                    return;
                }
                write.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        port
    }

    #[tokio::test]
    async fn answers_become_pairs_and_refusals_errors() {
        let port = scripted(vec![
            "OK\n",
            "volume: 40\nstate: stop\nOK\n",
            "ACK [5@0] {play} Failed to decode\n",
        ])
        .await;
        let mut mpd = Mpd::connect("127.0.0.1", port, Some("secret"))
            .await
            .unwrap();
        let status = mpd.command("status", &[]).await.unwrap();
        assert_eq!(value(&status, "volume"), Some("40"));
        assert_eq!(value(&status, "state"), Some("stop"));
        let error = mpd.command("play", &[]).await.unwrap_err();
        assert!(error.is_refusal(), "{error}");
    }

    #[tokio::test]
    async fn a_peer_that_is_not_mpd_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.write_all(b"HTTP/1.1 400 Bad\r\n").await.unwrap();
        });
        let error = Mpd::connect("127.0.0.1", port, None).await.err().unwrap();
        assert!(matches!(error, MpdError::Protocol(_)), "{error}");
    }
}
