//! The `ldp-aggregator` command line: `serve`, and admin commands that work on the same
//! database offline (`token create`, `campaign create|list|show`). Every flag has an `LDP_*`
//! environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};

use crate::server::auth::{new_token, token_hash};
use crate::server::ingest::Committer;
use crate::server::metrics::Metrics;
use crate::server::{
    AppState, Settings, defaults, metrics_router, router, serve, shutdown_signal, unix_now,
};
use crate::store::{self, Role, Store};

/// The global allocator of the `ldp-aggregator` binaries: jemalloc, whose background threads
/// return memory freed after a burst of large request bodies to the system within its decay
/// time (about ten seconds), even while the process is idle. A binary declares it with
/// `#[global_allocator] static ALLOCATOR: Allocator = Allocator;`.
pub use tikv_jemallocator::Jemalloc as Allocator;

/// Collects local-differential-privacy reports and answers with unbiased estimates.
#[derive(Debug, Parser)]
#[command(name = "ldp-aggregator", version, about)]
pub struct Cli {
    /// Database URL: `sqlite://PATH` (created on first use), or
    /// `postgres://USER@HOST:PORT/DB` for several nodes; TLS as `psql` takes it, e.g.
    /// `?sslmode=verify-full&sslrootcert=ca.pem`.
    #[arg(
        long,
        global = true,
        env = "LDP_DATABASE",
        default_value = "sqlite://ldp.db"
    )]
    pub database: String,
    /// Log format.
    #[arg(long, global = true, env = "LDP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// This node's name: with PostgreSQL, each node writes its own partial counter rows, so
    /// nodes sharing a database need different names (default: the host name).
    #[arg(long, global = true, env = "LDP_NODE_ID")]
    pub node_id: Option<String>,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `ldp_aggregator=debug`).
    #[arg(long, global = true, env = "LDP_LOG", default_value = "info")]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage campaigns.
    #[command(subcommand)]
    Campaign(CampaignCommand),
}

/// `serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// When the database has no admin token, write the one made at start to this file
    /// (created with mode 0600; refused if it exists) instead of printing it.
    #[arg(long, env = "LDP_ADMIN_TOKEN_FILE", value_name = "PATH")]
    pub admin_token_file: Option<std::path::PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "LDP_LISTEN", default_value = defaults::LISTEN)]
    pub listen: SocketAddr,
    /// Largest request body in bytes (413 above).
    #[arg(long, env = "LDP_BODY_LIMIT", default_value_t = defaults::BODY_LIMIT)]
    pub body_limit: usize,
    /// Request timeout in milliseconds (408 after).
    #[arg(long, env = "LDP_REQUEST_TIMEOUT_MS", default_value_t = defaults::REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,
    /// Longest a client may take to send request headers, in milliseconds.
    #[arg(long, env = "LDP_HEADER_TIMEOUT_MS", default_value_t = defaults::HEADER_TIMEOUT_MS)]
    pub header_timeout_ms: u64,
    /// Group-commit window in milliseconds: batches arriving within it share one transaction.
    #[arg(long, env = "LDP_COMMIT_WINDOW_MS", default_value_t = defaults::COMMIT_WINDOW_MS)]
    pub commit_window_ms: u64,
    /// Allowed clock difference between devices and the server, in seconds.
    #[arg(long, env = "LDP_CLOCK_SKEW_SECONDS", default_value_t = defaults::CLOCK_SKEW_SECONDS)]
    pub clock_skew_seconds: u64,
    /// Whole epochs before the current one still accepted (late uploads).
    #[arg(long, env = "LDP_LATE_EPOCHS", default_value_t = defaults::LATE_EPOCHS)]
    pub late_epochs: u64,
    /// Most reports in one batch.
    #[arg(long, env = "LDP_MAX_BATCH_REPORTS", default_value_t = defaults::MAX_BATCH_REPORTS)]
    pub max_batch_reports: usize,
    /// Write the bound address to this file once listening (for scripts using port 0).
    #[arg(long, env = "LDP_ADDRESS_FILE")]
    pub address_file: Option<PathBuf>,
    /// Mark dashboard session cookies `Secure` (when a TLS proxy fronts the service).
    #[arg(long, env = "LDP_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Bytes of request bodies held in memory at once; a request whose body does not fit waits
    /// briefly, then gets 503 with `Retry-After` before its body is read.
    #[arg(long, env = "LDP_BODY_MEMORY", default_value_t = defaults::BODY_MEMORY)]
    pub body_memory: usize,
    /// Most connections open at once; beyond it the listener waits for one to close.
    #[arg(long, env = "LDP_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Serve `/metrics` on this address only (say, a private interface), not with the API.
    #[arg(long, env = "LDP_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Write the metrics listener's bound address to this file once listening.
    #[arg(long, env = "LDP_METRICS_ADDRESS_FILE", requires = "metrics_listen")]
    pub metrics_address_file: Option<PathBuf>,
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it (and nothing else) on stdout.
    Create {
        /// The token's role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Days until it expires (default: never); refused with 401 from then on.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(1..=36_500))]
        expires_in_days: Option<u64>,
    },
    /// List the tokens: id, role, created, expires and last used (UTC days); never a secret.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `token list`): it is refused with 401 from now on.
    Revoke {
        /// The token's id: 12 hex digits.
        id: String,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Creates campaigns, reads estimates.
    Admin,
    /// Reads estimates.
    Analyst,
}

/// `campaign` subcommands.
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign from flags (over the range 0..k) or from a JSON configuration file.
    Create(CreateCampaign),
    /// List campaigns.
    List,
    /// Show one campaign's configuration as JSON.
    Show {
        /// Campaign id.
        id: String,
    },
}

/// `campaign create` flags.
#[derive(Debug, Args)]
pub struct CreateCampaign {
    /// Full JSON configuration (instead of the flags below).
    #[arg(long, conflicts_with_all = ["id", "mechanism", "k", "eps"])]
    pub config: Option<PathBuf>,
    /// Campaign id (a slug).
    #[arg(long, required_unless_present = "config")]
    pub id: Option<String>,
    /// Mechanism over the range 0..k: grr, sue, oue, olh, blh, ss, hr, rappor, cms or hcms
    /// (with their default parameters; use --config for others).
    #[arg(long, required_unless_present = "config")]
    pub mechanism: Option<MechanismKind>,
    /// Domain size (values 0..k).
    #[arg(long, required_unless_present = "config")]
    pub k: Option<u32>,
    /// ε per report.
    #[arg(long, required_unless_present = "config")]
    pub eps: Option<f64>,
    /// Epoch length in seconds.
    #[arg(long)]
    pub epoch_seconds: Option<u64>,
    /// Reports needed before estimates are released (at least 10).
    #[arg(long)]
    pub min_reports: Option<u64>,
    /// Description for people.
    #[arg(long)]
    pub description: Option<String>,
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, &cli.log);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn run(cli: Cli) -> Result<(), BoxError> {
    let node = cli.node_id.clone().unwrap_or_else(host_name);
    let store = store::open(&cli.database, &node)?;
    match cli.command {
        Command::Serve(args) => run_serve(store, args),
        Command::Token(command) => run_token(&*store, command),
        Command::Campaign(CampaignCommand::Create(args)) => {
            let config = campaign_from_args(args)?;
            let created = store.create_campaign(&config, unix_now())?;
            println!("{}", serde_json::to_string_pretty(&config)?);
            if created {
                eprintln!(
                    "created campaign {} (digest {:016x})",
                    config.id().as_str(),
                    config.digest()
                );
            } else {
                eprintln!(
                    "campaign {} already existed, identical",
                    config.id().as_str()
                );
            }
            Ok(())
        }
        Command::Campaign(CampaignCommand::List) => {
            let campaigns = store.campaigns()?;
            if campaigns.is_empty() {
                eprintln!(
                    "no campaigns yet: ldp-aggregator campaign create --id ID --mechanism oue --k 16 --eps 1"
                );
            }
            let now = unix_now();
            let day = crate::epoch_time::EpochTime::new(86_400);
            let mut out = String::new();
            for c in campaigns {
                let config = &c.config;
                let time = crate::epoch_time::EpochTime::new(config.epoch_seconds());
                let current = crate::query::current_epoch(config, now);
                out.push_str(&format!(
                    "{}\t{}\teps={}\tk={}\tdigest={:016x}\tcreated={}\tnow={} (epoch {current})\t{}\n",
                    config.id().as_str(),
                    config.params().kind().name(),
                    config.epsilon(),
                    config.k(),
                    config.digest(),
                    day.label(c.created_at / 86_400),
                    time.label(current),
                    config.spec().description
                ));
            }
            print_out(&out)
        }
        Command::Campaign(CampaignCommand::Show { id }) => match store.campaign(&id)? {
            Some(c) => {
                println!("{}", serde_json::to_string_pretty(&c.config)?);
                Ok(())
            }
            None => Err(format!("no campaign {id:?}").into()),
        },
    }
}

/// The host name, or `default` when it cannot be read.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

fn campaign_from_args(args: CreateCampaign) -> Result<CampaignConfig, BoxError> {
    let spec = if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str::<CampaignSpec>(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        let (Some(id), Some(mechanism), Some(k), Some(eps)) =
            (args.id, args.mechanism, args.k, args.eps)
        else {
            return Err("give --config FILE, or --id, --mechanism, --k and --eps".into());
        };
        let mut spec = CampaignSpec::new(
            &id,
            Mechanism::with_defaults(mechanism),
            eps,
            Domain::Range { k },
        );
        if let Some(s) = args.epoch_seconds {
            spec.epoch_seconds = s;
        }
        if let Some(m) = args.min_reports {
            spec.min_reports = m;
        }
        if let Some(d) = args.description {
            spec.description = d;
        }
        spec
    };
    Ok(CampaignConfig::create(spec)?)
}

fn run_token(store: &dyn Store, command: TokenCommand) -> Result<(), BoxError> {
    match command {
        TokenCommand::Create {
            role,
            expires_in_days,
        } => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Analyst => Role::Analyst,
            };
            let now = unix_now();
            let expires_at = expires_in_days.map(|days| now + days * 86_400);
            let token = new_token()?;
            store.create_token(&token_hash(&token), role, now, expires_at)?;
            println!("{token}");
        }
        TokenCommand::List { json } => {
            let tokens = store.tokens()?;
            if json {
                let mut out = String::new();
                for token in &tokens {
                    out.push_str(&serde_json::to_string(token)?);
                    out.push('\n');
                }
                print_out(&out)?;
            } else {
                print_tokens(&tokens)?;
            }
        }
        TokenCommand::Revoke { id } => {
            if !store.revoke_token(&id)? {
                return Err(format!("no token has id {id:?} (see `token list`)").into());
            }
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}

/// The token list as a table, dates as UTC days.
fn print_tokens(tokens: &[store::TokenInfo]) -> Result<(), BoxError> {
    let day = |seconds: u64| crate::epoch_time::EpochTime::new(86_400).label(seconds / 86_400);
    let mut out = format!(
        "{:<12}  {:<7}  {:<10}  {:<10}  last used\n",
        "id", "role", "created", "expires"
    );
    for t in tokens {
        out.push_str(&format!(
            "{:<12}  {:<7}  {:<10}  {:<10}  {}\n",
            t.id,
            t.role.name(),
            day(t.created_at),
            t.expires_at.map_or_else(|| "never".to_owned(), day),
            t.last_used_day
                .map_or_else(|| "never".to_owned(), |d| day(d * 86_400)),
        ));
    }
    print_out(&out)
}

/// Writes `text` to standard output; a reader that went away (`| head`) is not an error.
fn print_out(text: &str) -> Result<(), BoxError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn run_serve(store: Arc<dyn Store>, args: ServeArgs) -> Result<(), BoxError> {
    if !store.has_admin_token()? {
        let token = new_token()?;
        store.create_token(&token_hash(&token), Role::Admin, unix_now(), None)?;
        match &args.admin_token_file {
            Some(path) => {
                write_secret(path, &token)?;
                println!("admin token written to {} (mode 0600)", path.display());
            }
            None => println!("admin token (shown once, keep it): {token}"),
        }
    }
    let settings = Settings {
        body_limit: args.body_limit,
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        header_timeout: Duration::from_millis(args.header_timeout_ms),
        commit_window: Duration::from_millis(args.commit_window_ms),
        clock_skew_seconds: args.clock_skew_seconds,
        late_epochs: args.late_epochs,
        max_batch_reports: args.max_batch_reports,
        secure_cookies: args.secure_cookies,
        body_memory: args.body_memory,
        max_connections: args.max_connections,
        metrics_apart: args.metrics_listen.is_some(),
        ..Settings::default()
    };
    let mut metrics = Metrics::new();
    metrics.watch_store(store.clone());
    let metrics = Arc::new(metrics);
    let (committer, commit_thread) = Committer::start(
        store.clone(),
        metrics.clone(),
        settings.commit_window,
        settings.queue_capacity,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        if let Some(path) = &args.address_file {
            write_atomically(path, addr.to_string().as_bytes())?;
        }
        tracing::info!(address = %format!("http://{addr}"), "listening");
        let state = Arc::new(AppState::new(
            store.clone(),
            committer,
            metrics,
            settings.clone(),
        ));
        let expiry = tokio::spawn(expire_batch_ids(state.clone()));
        // One signal stops every listener.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let metrics = serve_metrics(&args, &state, &settings, stopped.clone()).await?;
        let app = router(state);
        serve(listener, app, &settings, until_stopped(stopped)).await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        expiry.abort();
        Ok::<(), BoxError>(())
    })?;
    // Every handle to the committer is gone once the runtime is shut down: it commits what is
    // still queued and stops.
    runtime.shutdown_timeout(Duration::from_secs(5));
    if commit_thread.join().is_err() {
        return Err("the group committer panicked".into());
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves once `stopped` turns true.
async fn until_stopped(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Serves `/metrics` on `--metrics-listen`, if given, until `stopped`.
async fn serve_metrics(
    args: &ServeArgs,
    state: &Arc<AppState>,
    settings: &Settings,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, BoxError> {
    let Some(address) = args.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let bound = listener.local_addr()?;
    if let Some(path) = &args.metrics_address_file {
        write_atomically(path, bound.to_string().as_bytes())?;
    }
    tracing::info!(address = %format!("http://{bound}/metrics"), "metrics");
    let app = metrics_router(state.clone());
    let settings = settings.clone();
    Ok(Some(tokio::spawn(async move {
        serve(listener, app, &settings, until_stopped(stopped)).await;
    })))
}

/// Every ten minutes: forgets batch ids that can no longer be accepted, and deletes counters
/// older than their campaign's retention.
async fn expire_batch_ids(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let state = state.clone();
        let result = tokio::task::spawn_blocking(move || {
            let now = state.now();
            let expired = crate::server::expire_batch_ids(&*state.store, &state.settings, now)?;
            let dropped = crate::server::apply_retention(&*state.store, now)?;
            Ok::<_, crate::store::StoreError>((expired, dropped))
        })
        .await;
        match result {
            Ok(Ok((expired, dropped))) => {
                if expired > 0 {
                    tracing::info!(expired, "forgot old batch ids");
                }
                if dropped > 0 {
                    tracing::info!(epochs = dropped, "deleted counters past their retention");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "housekeeping failed"),
            Err(e) => tracing::warn!(error = %e, "housekeeping task failed"),
        }
    }
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// Writes `secret` and a newline to a new file at `path`, readable by its owner only.
fn write_secret(path: &std::path::Path, secret: &str) -> Result<(), BoxError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    writeln!(file, "{secret}")?;
    file.sync_all()?;
    Ok(())
}
