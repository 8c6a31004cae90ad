//! The command line: `serve`, `scan`, `user`, `catalog`, `acl`. Every flag can also
//! come from a `TONEARM_*` environment variable and most from `config.toml`.

use std::io::{BufRead, IsTerminal};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::config::{default_data_dir, FileConfig, Settings};
use crate::scanner::{self, Progress, ScanOptions, ScanSummary};
use crate::store::acl::AclKind;
use crate::store::catalogs::{Catalog, CatalogKind};
use crate::store::users::access;
use crate::store::Store;

#[derive(Parser, Debug)]
#[command(
    name = "tonearm",
    version,
    about = "A fast, self-hosted music server speaking Ampache's API"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Data folder (database, config.toml, caches).
    #[arg(long, env = "TONEARM_DATA", global = true)]
    data: Option<PathBuf>,
    /// Database URL: postgres://user:pass@host/db for PostgreSQL; default SQLite in the data folder.
    #[arg(long, env = "TONEARM_DATABASE_URL", global = true)]
    database: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (and scan the catalogs in the background).
    Serve(Box<ServeArgs>),
    /// Scan every catalog once and exit.
    Scan {
        /// Read every file's tags again, changed or not.
        #[arg(long)]
        full: bool,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage catalogs (music and video folders).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Post a shout (shown by last_shouts and the timelines) as a user, optionally
    /// about a song, album or artist.
    Shout {
        user: String,
        text: String,
        /// What the shout is about: song, album or artist (with --id).
        #[arg(long, requires = "id")]
        about: Option<String>,
        #[arg(long)]
        id: Option<i64>,
    },
    /// Manage smart playlists (saved song searches, `smart_N` in the API).
    #[command(subcommand)]
    Smartlist(SmartlistCommand),
    /// Manage access control lists (IP ranges allowed to use the API or stream).
    #[command(subcommand)]
    Acl(AclCommand),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// A music folder to serve (repeatable); kept as a catalog.
    #[arg(long, env = "TONEARM_MUSIC", value_delimiter = ',')]
    music: Vec<PathBuf>,
    /// A video folder to serve (repeatable); kept as a catalog.
    #[arg(long, env = "TONEARM_VIDEO", value_delimiter = ',')]
    video: Vec<PathBuf>,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "TONEARM_LISTEN")]
    listen: Option<String>,
    /// Serve Prometheus metrics at http://ADDRESS/metrics (off by default; give it an
    /// address that only your monitoring reaches, e.g. 127.0.0.1:9464).
    #[arg(long, env = "TONEARM_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// Seconds an unused session stays valid.
    #[arg(long, env = "TONEARM_SESSION_LENGTH")]
    session_length: Option<i64>,
    /// API version reported by the handshake.
    #[arg(long, env = "TONEARM_API_VERSION")]
    api_version: Option<String>,
    /// Public base URL of the server (e.g. https://music.example.org) for the stream and
    /// art URLs in responses; default: the address each connection arrived on, or a
    /// trusted Host header.
    #[arg(long, env = "TONEARM_PUBLIC_URL")]
    public_url: Option<String>,
    /// A host name (`host` or `host:port`) whose Host header may be used in the URLs of
    /// responses (repeatable).
    #[arg(
        long = "trusted-host",
        env = "TONEARM_TRUSTED_HOSTS",
        value_delimiter = ','
    )]
    trusted_hosts: Vec<String>,
    /// A reverse proxy's address or CIDR block whose X-Forwarded-Host and
    /// X-Forwarded-Proto are used in the URLs of responses (repeatable).
    #[arg(
        long = "trusted-proxy",
        env = "TONEARM_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
    /// Do not scan the catalogs at start-up, and (unless --watch) do not follow them
    /// on disk either: the library changes only by `tonearm scan` and the API.
    #[arg(long, env = "TONEARM_NO_SCAN")]
    no_scan: bool,
    #[command(flatten)]
    control: crate::control::ControlArgs,
    #[command(flatten)]
    metadata: crate::metadata::MetadataArgs,
    /// The ffmpeg program used to transcode (default `ffmpeg` from PATH).
    #[arg(long, env = "TONEARM_FFMPEG")]
    ffmpeg: Option<PathBuf>,
    /// The highest bitrate (kbit/s) of any stream; higher ones are transcoded down.
    #[arg(long, env = "TONEARM_MAX_BITRATE")]
    max_bitrate: Option<i64>,
    /// At most this many ffmpeg processes at once (default: 8 per core).
    #[arg(long, env = "TONEARM_MAX_TRANSCODES")]
    max_transcodes: Option<usize>,
    /// Follow the catalogs on disk (a watcher and periodic rescans), even with --no-scan.
    #[arg(long, env = "TONEARM_WATCH", conflicts_with = "no_watch")]
    watch: bool,
    /// Do not watch the catalogs or rescan them periodically.
    #[arg(long, env = "TONEARM_NO_WATCH")]
    no_watch: bool,
    /// Seconds between periodic quick rescans (by size and mtime) of every catalog;
    /// 0 turns them off (default 900).
    #[arg(long, env = "TONEARM_RESCAN_INTERVAL")]
    rescan_interval: Option<u64>,
    #[command(flatten)]
    guard: GuardArgs,
}

/// Limits against abuse and the cost of authentication (each also in config.toml).
#[derive(Args, Debug)]
struct GuardArgs {
    /// Seconds a session, an ACL decision or a ping's totals may be answered from
    /// memory (0: ask the database every time); also how long a goodbye or a disabled
    /// user on another node may go unseen here. Default 2.
    #[arg(long, env = "TONEARM_SESSION_CACHE")]
    session_cache: Option<u64>,
    /// Failed handshakes (per address, per user) answered without delay. Default 3.
    #[arg(long, env = "TONEARM_LOGIN_DELAY_AFTER")]
    login_delay_after: Option<i64>,
    /// Failed handshakes after which handshakes are refused for the window. Default 10.
    #[arg(long, env = "TONEARM_LOGIN_LOCKOUT_AFTER")]
    login_lockout_after: Option<i64>,
    /// Seconds after the last failed handshake when the failures are forgotten. Default 900.
    #[arg(long, env = "TONEARM_LOGIN_WINDOW")]
    login_window: Option<i64>,
    /// Seconds a connection may take to send a request's headers, and may stay idle
    /// between requests. Default 10.
    #[arg(long, env = "TONEARM_HTTP_HEADER_TIMEOUT")]
    http_header_timeout: Option<u64>,
    /// Seconds without a byte moving either way after which a connection is closed,
    /// even in the middle of a request. Default 60.
    #[arg(long, env = "TONEARM_HTTP_IDLE_TIMEOUT")]
    http_idle_timeout: Option<u64>,
    /// Connections served at once; past it a new one gets 503 and is closed. Default 512.
    #[arg(long, env = "TONEARM_HTTP_MAX_CONNECTIONS")]
    http_max_connections: Option<usize>,
}

impl GuardArgs {
    /// Applies the flags, else the file's keys, to `settings`.
    fn apply(&self, file: &FileConfig, settings: &mut Settings) -> anyhow::Result<()> {
        use std::time::Duration;
        if let Some(seconds) = self.session_cache.or(file.session_cache) {
            settings.session_cache = Duration::from_secs(seconds);
        }
        let limits = &mut settings.login_limits;
        if let Some(n) = self.login_delay_after.or(file.login_delay_after) {
            limits.delay_after = n.max(0);
        }
        if let Some(n) = self.login_lockout_after.or(file.login_lockout_after) {
            if n < 1 {
                bail!("login_lockout_after must be at least 1");
            }
            limits.lockout_after = n;
        }
        if let Some(seconds) = self.login_window.or(file.login_window) {
            if seconds < 1 {
                bail!("login_window must be at least 1 second");
            }
            limits.window = seconds;
        }
        let http = &mut settings.http;
        for (value, target, name) in [
            (
                self.http_header_timeout.or(file.http_header_timeout),
                &mut http.header_timeout,
                "http_header_timeout",
            ),
            (
                self.http_idle_timeout.or(file.http_idle_timeout),
                &mut http.idle_timeout,
                "http_idle_timeout",
            ),
        ] {
            if let Some(seconds) = value {
                if seconds == 0 {
                    bail!("{name} must be at least 1 second");
                }
                *target = Duration::from_secs(seconds);
            }
        }
        if let Some(n) = self.http_max_connections.or(file.http_max_connections) {
            if n == 0 {
                bail!("http_max_connections must be at least 1");
            }
            http.max_connections = n;
        }
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user; the password comes from --password-stdin or TONEARM_PASSWORD.
    Add {
        name: String,
        /// guest, user, manager, catalog_manager or admin.
        #[arg(long, default_value = "user")]
        access: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a new API key for the user (replacing the old one).
    Apikey { name: String },
    /// Set a new password (from --password-stdin or TONEARM_PASSWORD).
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Stop a user from logging in and end their sessions.
    Disable { name: String },
    /// Let a disabled user log in again.
    Enable { name: String },
    /// List users.
    List,
}

#[derive(Subcommand, Debug)]
enum CatalogCommand {
    /// Add a folder as a catalog.
    Add {
        dir: PathBuf,
        #[arg(long, default_value = "music")]
        kind: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List catalogs.
    List,
    /// List files the scanner skipped, with the reason.
    Skipped,
}

#[derive(Subcommand, Debug)]
enum SmartlistCommand {
    /// Save a song search as a smart playlist. Rules as FIELD:OPERATOR:INPUT, with the
    /// field names and operator numbers of advanced_search (e.g. `genre` is `tag`:
    /// --rule tag:4:Jazz --rule year:0:1990; a metadata field as `metadata/bpm:12:120`).
    Add {
        name: String,
        /// The owner.
        #[arg(long)]
        user: String,
        #[arg(long = "rule", required = true)]
        rules: Vec<String>,
        /// Match any rule instead of all.
        #[arg(long)]
        any: bool,
        #[arg(long)]
        random: bool,
        /// At most this many songs (0: no limit).
        #[arg(long, default_value_t = 0)]
        limit: i64,
        /// Visible to every user.
        #[arg(long)]
        public: bool,
    },
    /// List smart playlists.
    List,
    /// Remove a smart playlist by id (the N of smart_N).
    Remove { id: i64 },
}

#[derive(Subcommand, Debug)]
enum AclCommand {
    /// Allow an IP range (inclusive) to use the API (`api`) or to stream (`stream`).
    Add {
        #[arg(long)]
        start: IpAddr,
        #[arg(long)]
        end: IpAddr,
        #[arg(long, default_value = "api")]
        kind: String,
        /// Access level granted (5 or more lets requests through).
        #[arg(long, default_value_t = 25)]
        level: i64,
        /// Only for this user (default: every user).
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List ACL rules.
    List,
    /// Remove an ACL rule by id.
    Remove { id: i64 },
}

/// Where the data lives and what the config file says.
struct Context_ {
    data_dir: PathBuf,
    file: FileConfig,
    database_url: String,
}

fn context(cli: &Cli) -> anyhow::Result<Context_> {
    let data_dir = cli.data.clone().unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let file = FileConfig::load(&data_dir)?;
    let database_url = cli
        .database
        .clone()
        .or_else(|| file.database.clone())
        .unwrap_or_else(|| Store::sqlite_url(&data_dir));
    Ok(Context_ {
        data_dir,
        file,
        database_url,
    })
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = context(&cli)?;
    match cli.command {
        Command::Serve(args) => serve(ctx, *args).await,
        Command::Scan { full } => {
            let store = Store::open(&ctx.database_url).await?;
            let progress = Arc::new(BarProgress::new());
            let summary = scanner::scan_all(&store, ScanOptions { full }, progress).await?;
            store.close().await;
            println!("scan finished: {summary}");
            Ok(())
        }
        Command::User(command) => user(Store::open(&ctx.database_url).await?, command).await,
        Command::Catalog(command) => catalog(Store::open(&ctx.database_url).await?, command).await,
        Command::Shout {
            user,
            text,
            about,
            id,
        } => {
            let store = Store::open(&ctx.database_url).await?;
            let author = find_user(&store, &user).await?;
            let (kind, object_id) = match (about.as_deref(), id) {
                (Some(kind), Some(id)) => {
                    let kind = crate::store::userdata::ObjectKind::parse(kind)
                        .filter(|k| !matches!(k, crate::store::userdata::ObjectKind::User))
                        .with_context(|| {
                            format!("--about {kind:?}: use song, album, artist or playlist")
                        })?;
                    if !store.object_exists(kind, id).await? {
                        bail!("no {} with id {id}", kind.as_str());
                    }
                    (kind, id)
                }
                _ => (crate::store::userdata::ObjectKind::User, author.id),
            };
            let text = text.trim();
            if text.is_empty() {
                bail!("a shout needs some text");
            }
            let shout = store.add_shout(author.id, kind, object_id, text).await?;
            println!("shout {shout} posted");
            Ok(())
        }
        Command::Smartlist(command) => {
            smartlist(Store::open(&ctx.database_url).await?, command).await
        }
        Command::Acl(command) => acl(Store::open(&ctx.database_url).await?, command).await,
    }
}

async fn serve(ctx: Context_, args: ServeArgs) -> anyhow::Result<()> {
    let mut settings = Settings::defaults(&ctx.data_dir);
    settings.database_url = ctx.database_url.clone();
    let listen = args
        .listen
        .or(ctx.file.listen.clone())
        .unwrap_or_else(|| crate::config::DEFAULT_LISTEN.to_string());
    settings.listen = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address like 127.0.0.1:4040"))?;
    if let Some(metrics) = args.metrics_listen.or(ctx.file.metrics_listen.clone()) {
        settings.metrics_listen = Some(metrics.parse().with_context(|| {
            format!("--metrics-listen {metrics:?} is not an address like 127.0.0.1:9464")
        })?);
    }
    if let Some(length) = args.session_length.or(ctx.file.session_length) {
        if length < 60 {
            bail!("the session length must be at least 60 seconds");
        }
        settings.session_length = length;
    }
    if let Some(version) = args.api_version.or(ctx.file.api_version.clone()) {
        if crate::api::parse_version(&version).is_none() {
            bail!("--api-version {version:?} is not an API version like 400004");
        }
        settings.api_version = version;
    }
    settings.public_url = args
        .public_url
        .or(ctx.file.public_url.clone())
        .map(|url| url.trim_end_matches('/').to_string());
    let trusted_hosts = if args.trusted_hosts.is_empty() {
        ctx.file.trusted_hosts.clone().unwrap_or_default()
    } else {
        args.trusted_hosts
    };
    settings.trusted_hosts = trusted_hosts
        .iter()
        .map(|host| host.trim().to_ascii_lowercase())
        .filter(|host| !host.is_empty())
        .collect();
    let trusted_proxies = if args.trusted_proxies.is_empty() {
        ctx.file.trusted_proxies.clone().unwrap_or_default()
    } else {
        args.trusted_proxies
    };
    for proxy in trusted_proxies.iter().filter(|p| !p.trim().is_empty()) {
        let range = crate::api::base_url::IpRange::parse(proxy).with_context(|| {
            format!("trusted proxy {proxy:?} is not an address or a block like 10.0.0.0/8")
        })?;
        settings.trusted_proxies.push(range);
    }
    if let Some(enabled) = ctx.file.access_control {
        settings.access_control = enabled;
    }
    if let Some(window) = ctx.file.timestamp_window {
        settings.timestamp_window = window;
    }
    settings.control = args
        .control
        .settings(ctx.file.localplay.as_ref(), ctx.file.democratic.as_ref())?;
    settings.metadata = crate::metadata::MetadataSettings::resolve(
        args.metadata,
        ctx.file.metadata.clone().unwrap_or_default(),
    )?;
    let mut transcode = ctx.file.transcode.clone().unwrap_or_default();
    transcode.ffmpeg_path = args.ffmpeg.or(transcode.ffmpeg_path);
    transcode.max_bitrate = args.max_bitrate.or(transcode.max_bitrate);
    transcode.max_processes = args.max_transcodes.or(transcode.max_processes);
    settings.transcode = settings.transcode.with_config(&transcode)?;
    args.guard.apply(&ctx.file, &mut settings)?;
    crate::private_files::check_config(&ctx.data_dir);
    let store = Store::open(&settings.database_url).await?;
    store.set_cache_ttl(settings.session_cache);
    let music = if args.music.is_empty() {
        ctx.file.music.clone().unwrap_or_default()
    } else {
        args.music
    };
    let video = if args.video.is_empty() {
        ctx.file.video.clone().unwrap_or_default()
    } else {
        args.video
    };
    for (dirs, kind) in [(music, CatalogKind::Music), (video, CatalogKind::Video)] {
        for dir in dirs {
            let catalog = store.ensure_catalog(&dir, kind, None).await?;
            tracing::info!(path = %catalog.path, kind = kind.as_str(), "catalog");
        }
    }
    ensure_first_admin(&store).await?;
    let scan = !args.no_scan && ctx.file.scan_on_start.unwrap_or(true);
    settings.watch = if args.watch {
        true
    } else if args.no_watch {
        false
    } else {
        ctx.file.watch.unwrap_or(scan)
    };
    if let Some(interval) = args.rescan_interval.or(ctx.file.rescan_interval) {
        settings.rescan_interval = interval;
    }
    crate::server::run(store, settings, scan).await
}

/// On first start there is no user: create `admin` with TONEARM_ADMIN_PASSWORD or a
/// generated password, printed once.
async fn ensure_first_admin(store: &Store) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let name = std::env::var("TONEARM_ADMIN_USER").unwrap_or_else(|_| "admin".into());
    let (password, generated) = match std::env::var("TONEARM_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crate::store::users::random_token()[..16].to_string(), true),
    };
    if !store.create_first_admin(&name, &password).await? {
        // Another process sharing the database created it first.
        return Ok(());
    }
    if generated {
        println!("created the first admin user {name:?} with password {password} (shown once; change it with `tonearm user password {name}`)");
    } else {
        println!(
            "created the first admin user {name:?} with the password from TONEARM_ADMIN_PASSWORD"
        );
    }
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        std::env::var("TONEARM_PASSWORD").unwrap_or_default()
    };
    if password.is_empty() {
        bail!("give a password with --password-stdin or the TONEARM_PASSWORD variable");
    }
    Ok(password)
}

async fn find_user(store: &Store, name: &str) -> anyhow::Result<crate::store::users::User> {
    store
        .user_by_name(name)
        .await?
        .with_context(|| format!("no user named {name:?}"))
}

async fn user(store: Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            access: level,
            email,
            password_stdin,
        } => {
            let level = access::parse(&level)
                .with_context(|| format!("unknown access level {level:?}: use guest, user, manager, catalog_manager or admin"))?;
            let password = read_password(password_stdin)?;
            let user = store.create_user(&name, &password, level, &email).await?;
            println!(
                "created user {:?} (id {}, access {})",
                user.username,
                user.id,
                access::name(user.access)
            );
        }
        UserCommand::Apikey { name } => {
            let user = find_user(&store, &name).await?;
            println!("{}", store.new_apikey(&user).await?);
        }
        UserCommand::Password {
            name,
            password_stdin,
        } => {
            let user = find_user(&store, &name).await?;
            store
                .set_password(&user, &read_password(password_stdin)?)
                .await?;
            println!("password of {name:?} changed");
        }
        UserCommand::Disable { name } => {
            let user = find_user(&store, &name).await?;
            store.set_disabled(&user, true).await?;
            println!("user {name:?} disabled");
        }
        UserCommand::Enable { name } => {
            let user = find_user(&store, &name).await?;
            store.set_disabled(&user, false).await?;
            println!("user {name:?} enabled");
        }
        UserCommand::List => {
            for user in store.users().await? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    user.id,
                    user.username,
                    access::name(user.access),
                    if user.email.is_empty() {
                        "-"
                    } else {
                        &user.email
                    },
                    if user.disabled { "\tdisabled" } else { "" }
                );
            }
        }
    }
    Ok(())
}

async fn catalog(store: Store, command: CatalogCommand) -> anyhow::Result<()> {
    match command {
        CatalogCommand::Add { dir, kind, name } => {
            let kind = CatalogKind::parse(&kind)
                .with_context(|| format!("unknown catalog kind {kind:?}: use music or video"))?;
            let catalog = store.ensure_catalog(&dir, kind, name.as_deref()).await?;
            println!(
                "catalog {} ({}): {}",
                catalog.id,
                catalog.kind.as_str(),
                catalog.path
            );
        }
        CatalogCommand::List => {
            for catalog in store.catalogs().await? {
                let when = |t: i64| {
                    if t == 0 {
                        "never".to_string()
                    } else {
                        crate::api::encode::iso8601(t)
                    }
                };
                println!(
                    "{}\t{}\t{}\t{}\tadded {}\tupdated {}\tcleaned {}",
                    catalog.id,
                    catalog.kind.as_str(),
                    catalog.name,
                    catalog.path,
                    when(catalog.last_add),
                    when(catalog.last_update),
                    when(catalog.last_clean)
                );
            }
        }
        CatalogCommand::Skipped => {
            for (path, reason) in store.skipped_files().await? {
                println!("{path}\t{reason}");
            }
        }
    }
    Ok(())
}

async fn smartlist(store: Store, command: SmartlistCommand) -> anyhow::Result<()> {
    match command {
        SmartlistCommand::Add {
            name,
            user,
            rules,
            any,
            random,
            limit,
            public,
        } => {
            let owner = find_user(&store, &user).await?;
            let mut parsed = Vec::with_capacity(rules.len());
            for text in &rules {
                let mut parts = text.splitn(3, ':');
                let (Some(field), Some(operator), input) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    bail!("--rule {text:?}: expected FIELD:OPERATOR:INPUT");
                };
                let number: i64 = operator
                    .parse()
                    .with_context(|| format!("--rule {text:?}: the operator is a number"))?;
                // "metadata/bpm" names a metadata field as rule_N_subtype does.
                let (field, subtype) = match field.split_once('/') {
                    Some((field, subtype)) => (field, Some(subtype.to_string())),
                    None => (field, None),
                };
                let kind = crate::store::search::field_kind(crate::model::SearchType::Song, field)
                    .with_context(|| {
                        format!("--rule {text:?}: {field} is not a song search field")
                    })?;
                let operator =
                    crate::api::search_operators::operator(kind, number).with_context(|| {
                        format!("--rule {text:?}: operator {number} does not apply to {field}")
                    })?;
                parsed.push(crate::store::search::Rule {
                    field: field.to_string(),
                    operator,
                    input: crate::api::ids::smart_rule_input(field, input.unwrap_or("")),
                    subtype,
                });
            }
            let id = store
                .create_smartlist(owner.id, &name, public, &parsed, any, random, limit)
                .await?;
            println!("smart playlist smart_{id} created");
        }
        SmartlistCommand::List => {
            for list in store.smartlists().await? {
                println!(
                    "{}\t{}\t{}\t{} rules",
                    list.row.id,
                    list.row.name,
                    list.row.owner,
                    list.search.rules.len()
                );
            }
        }
        SmartlistCommand::Remove { id } => {
            if !store.delete_smartlist(id).await? {
                bail!("no smart playlist smart_{id}");
            }
            println!("smart playlist smart_{id} removed");
        }
    }
    Ok(())
}

async fn acl(store: Store, command: AclCommand) -> anyhow::Result<()> {
    match command {
        AclCommand::Add {
            start,
            end,
            kind,
            level,
            user,
            name,
        } => {
            let kind = AclKind::parse(&kind)
                .with_context(|| format!("unknown ACL kind {kind:?}: use api or stream"))?;
            let user_id = match user {
                Some(name) => Some(find_user(&store, &name).await?.id),
                None => None,
            };
            let id = store
                .add_acl(&name, start, end, kind, user_id, level)
                .await?;
            println!("ACL {id}: {} {start} - {end} level {level}", kind.as_str());
        }
        AclCommand::List => {
            for rule in store.acls().await? {
                println!(
                    "{}\t{}\t{} - {}\tlevel {}\t{}\t{}",
                    rule.id,
                    rule.kind,
                    rule.start_ip,
                    rule.end_ip,
                    rule.level,
                    rule.username.as_deref().unwrap_or("all users"),
                    rule.name
                );
            }
        }
        AclCommand::Remove { id } => {
            if !store.remove_acl(id).await? {
                bail!("no ACL rule with id {id}");
            }
            println!("ACL {id} removed");
        }
    }
    Ok(())
}

/// A progress bar on a terminal; nothing otherwise (the summary line still prints).
struct BarProgress {
    bar: indicatif::ProgressBar,
}

impl BarProgress {
    fn new() -> BarProgress {
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} files ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        BarProgress { bar }
    }
}

impl Progress for BarProgress {
    fn catalog_started(&self, catalog: &Catalog, _files: u64, to_read: u64) {
        self.bar.set_message(catalog.name.clone());
        self.bar.set_length(to_read);
        self.bar.set_position(0);
    }
    fn files_done(&self, count: u64) {
        self.bar.inc(count);
    }
    fn catalog_finished(&self, catalog: &Catalog, summary: &ScanSummary) {
        self.bar.finish_and_clear();
        eprintln!("{}: {summary}", catalog.path);
    }
}
