//! Command-line interface: argument parsing and dispatch.

mod accounts;
mod database;
mod inventory;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mr_provisioner_server::config::Config;

/// Bare-metal provisioning for hardware labs.
#[derive(Debug, Parser)]
#[command(name = "mr-provisioner", version, about)]
pub(crate) struct Cli {
    /// Configuration file (TOML). Without it every setting has its default.
    #[arg(long, global = true, env = "MRP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrating the database first).
    Serve {
        /// Address and port to listen on (default 127.0.0.1:5000; also MRP_LISTEN).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Database schema.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// User accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Declarative inventory files.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply pending migrations (a SQLite database is copied first).
    Upgrade,
    /// Show applied and pending migrations.
    Status,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin a random password is generated and printed.
    Add {
        /// Login name.
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Contact address.
        #[arg(long, value_name = "E")]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password, read from the first line of standard input.
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from standard input (required: passwords never go on the
        /// command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token; the token is printed alone on the last line of stdout.
    Create {
        /// Whose token.
        user: String,
        /// What the token is for.
        #[arg(long, value_name = "D", default_value = "")]
        description: String,
    },
    /// List a user's tokens (never the secrets).
    List {
        /// Whose tokens.
        user: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (from `token list`).
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum InventoryCommand {
    /// Make the database contain what FILE describes, in one transaction.
    Apply {
        /// The inventory (TOML).
        file: PathBuf,
        /// Check and report without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Loads the configuration and runs the command.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let (mut config, warnings) = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Command::Serve { listen: Some(addr) } = &cli.command {
        config.http.listen = *addr;
    }
    mr_provisioner_server::logging::init(&config.log).context("logging")?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    match cli.command {
        Command::Serve { .. } => serve::run(config).await,
        Command::Db { command } => match command {
            DbCommand::Upgrade => database::upgrade_command(&config).await,
            DbCommand::Status => database::status_command(&config).await,
        },
        Command::User { command } => match command {
            UserCommand::Add {
                name,
                admin,
                email,
                password_stdin,
            } => accounts::user_add(&config, &name, admin, email, password_stdin).await,
            UserCommand::List => accounts::user_list(&config).await,
            UserCommand::Passwd { name, .. } => accounts::user_passwd(&config, &name).await,
        },
        Command::Token { command } => match command {
            TokenCommand::Create { user, description } => {
                accounts::token_create(&config, &user, &description).await
            }
            TokenCommand::List { user } => accounts::token_list(&config, &user).await,
            TokenCommand::Revoke { id } => accounts::token_revoke(&config, id).await,
        },
        Command::Inventory { command } => match command {
            InventoryCommand::Apply { file, dry_run } => {
                inventory::apply(&config, &file, dry_run).await
            }
        },
    }
}
