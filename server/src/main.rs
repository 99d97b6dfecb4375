//! The `server` command: `serve` runs the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "server", about = "huhujian sync server and supervisor API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (and the built app, if given).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "HUHUJIAN_BIND")]
        bind: SocketAddr,
        /// Directory of the built app (Trunk's dist/).
        #[arg(long, env = "HUHUJIAN_APP_DIR")]
        app_dir: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve { bind, app_dir } => {
            let listener = tokio::net::TcpListener::bind(bind).await?;
            tracing::info!("listening on http://{}", listener.local_addr()?);
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            server::serve(listener, server::AppState { app_dir }, shutdown).await?;
        }
    }
    Ok(())
}
