//! Localplay on MPD: the commands of API4's `localplay`, as MPD commands.
//!
//! A command MPD refuses (`ACK`: nothing to play, no mixer for the volume, ...)
//! reports `false`, as Ampache's controllers report a failed command; an MPD that
//! cannot be reached at all is an error.

use super::mpd::{self, Mpd, MpdError, Pairs};
use super::MpdInstance;

/// How far `volume_up` and `volume_down` move the volume, as Ampache's MPD controller.
const VOLUME_STEP: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Next,
    Prev,
    Stop,
    Play,
    /// Pauses a playing player, resumes a paused one.
    Pause,
    /// Plays the queue's `n`th entry (1-based, as `status` reports `track`).
    Skip(i64),
    VolumeUp,
    VolumeDown,
    VolumeMute,
    /// Empties the queue.
    DeleteAll,
    Status,
    /// Appends stream URLs, after emptying the queue when `clear`.
    Add {
        urls: Vec<String>,
        clear: bool,
    },
}

impl Command {
    /// The name the API uses, which keys its answer.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Next => "next",
            Command::Prev => "prev",
            Command::Stop => "stop",
            Command::Play => "play",
            Command::Pause => "pause",
            Command::Skip(_) => "skip",
            Command::VolumeUp => "volume_up",
            Command::VolumeDown => "volume_down",
            Command::VolumeMute => "volume_mute",
            Command::DeleteAll => "delete_all",
            Command::Status => "status",
            Command::Add { .. } => "add",
        }
    }
}

/// What MPD reports, in the terms of localplay's `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayerStatus {
    /// `play`, `pause` or `stop`.
    pub state: String,
    /// 0–100; -1 when the player has no volume control.
    pub volume: i64,
    pub repeat: bool,
    pub random: bool,
    /// The playing (or next) entry, 1-based; 0 when there is none.
    pub track: i64,
    /// Entries in the queue.
    pub length: i64,
    /// The current entry's URL or file, for the caller to name it.
    pub file: Option<String>,
    /// Tags MPD knows of the current entry.
    pub title: String,
    pub artist: String,
    pub album: String,
}

#[derive(Debug)]
pub enum Outcome {
    /// Whether MPD did it.
    Done(bool),
    Status(PlayerStatus),
}

/// Runs `command` on the instance.
pub async fn run(instance: &MpdInstance, command: &Command) -> Result<Outcome, MpdError> {
    let password = Some(instance.password.as_str());
    let mut mpd = Mpd::connect(&instance.host, instance.port, password).await?;
    let done = match command {
        Command::Status => return Ok(Outcome::Status(status(&mut mpd).await?)),
        Command::Next => simple(&mut mpd, "next", &[]).await,
        Command::Prev => simple(&mut mpd, "previous", &[]).await,
        Command::Stop => simple(&mut mpd, "stop", &[]).await,
        Command::Play => simple(&mut mpd, "play", &[]).await,
        Command::Pause => {
            let state = status(&mut mpd).await?.state;
            match state.as_str() {
                "play" => simple(&mut mpd, "pause", &["1"]).await,
                "pause" => simple(&mut mpd, "pause", &["0"]).await,
                _ => Ok(false),
            }
        }
        Command::Skip(track) => {
            let position = (track - 1).max(0).to_string();
            simple(&mut mpd, "play", &[&position]).await
        }
        Command::VolumeUp | Command::VolumeDown | Command::VolumeMute => {
            let volume = status(&mut mpd).await?.volume;
            if volume < 0 {
                // No mixer: nothing to turn.
                Ok(false)
            } else {
                let target = match command {
                    Command::VolumeUp => volume + VOLUME_STEP,
                    Command::VolumeDown => volume - VOLUME_STEP,
                    _ => 0,
                }
                .clamp(0, 100)
                .to_string();
                simple(&mut mpd, "setvol", &[&target]).await
            }
        }
        Command::DeleteAll => simple(&mut mpd, "clear", &[]).await,
        Command::Add { urls, clear } => {
            let mut commands: Vec<(&str, Vec<&str>)> = Vec::with_capacity(urls.len() + 1);
            if *clear {
                commands.push(("clear", Vec::new()));
            }
            commands.extend(urls.iter().map(|url| ("add", vec![url.as_str()])));
            refused_is_false(mpd.command_list(&commands).await.map(|_| Vec::new()))
        }
    };
    Ok(Outcome::Done(done?))
}

async fn simple(mpd: &mut Mpd, name: &str, args: &[&str]) -> Result<bool, MpdError> {
    refused_is_false(mpd.command(name, args).await)
}

fn refused_is_false(result: Result<Pairs, MpdError>) -> Result<bool, MpdError> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.is_refusal() => {
            tracing::info!("localplay: {e}");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

async fn status(mpd: &mut Mpd) -> Result<PlayerStatus, MpdError> {
    let status = mpd.command("status", &[]).await?;
    let current = mpd.command("currentsong", &[]).await?;
    let number = |pairs: &Pairs, key: &str| -> Option<i64> {
        mpd::value(pairs, key).and_then(|v| v.trim().parse().ok())
    };
    let text = |key: &str| mpd::value(&current, key).unwrap_or("").to_string();
    Ok(PlayerStatus {
        state: mpd::value(&status, "state").unwrap_or("stop").to_string(),
        volume: number(&status, "volume").unwrap_or(-1),
        repeat: mpd::value(&status, "repeat") == Some("1"),
        random: mpd::value(&status, "random") == Some("1"),
        track: number(&status, "song").map_or(0, |position| position + 1),
        length: number(&status, "playlistlength").unwrap_or(0),
        file: mpd::value(&current, "file").map(str::to_string),
        title: text("Title"),
        artist: text("Artist"),
        album: text("Album"),
    })
}
