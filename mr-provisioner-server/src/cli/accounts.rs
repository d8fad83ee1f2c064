//! `user` and `token` commands.

use std::io::BufRead;

use anyhow::{Context, bail};
use mr_provisioner_core::accounts::{self, UserRequest};
use mr_provisioner_core::id::TokenId;
use mr_provisioner_core::model::audit::NewAuditEntry;
use mr_provisioner_core::model::user::User;
use mr_provisioner_core::store::{Store, TokenStore, UserStore};
use mr_provisioner_server::config::Config;

use super::database::open_current;

/// Reads the first line of standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

/// Records a command-line change in the audit log.
pub(crate) async fn audit(
    store: &dyn Store,
    action: &str,
    target_kind: &str,
    target_id: Option<i64>,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .audit_record(&NewAuditEntry {
            actor_id: None,
            actor: "cli".into(),
            action: action.into(),
            target_kind: target_kind.into(),
            target_id,
            detail,
        })
        .await?;
    Ok(())
}

async fn user_named(store: &dyn Store, name: &str) -> anyhow::Result<User> {
    store
        .user_by_name(name)
        .await?
        .with_context(|| format!("no user named {name:?}"))
}

/// `user add`.
pub(crate) async fn user_add(
    config: &Config,
    name: &str,
    admin: bool,
    email: Option<String>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let store = open_current(config).await?;
    let (password, generated) = if password_stdin {
        (password_from_stdin()?, false)
    } else {
        (mr_provisioner_core::auth::generate_password()?, true)
    };
    let user = accounts::create_user(
        &store,
        UserRequest {
            username: name.to_string(),
            email,
            admin,
            ssh_key: String::new(),
            password: Some(password.clone()),
        },
    )
    .await?;
    audit(
        &store,
        "user.create",
        "user",
        Some(user.id.0),
        serde_json::json!({"username": user.username, "admin": user.admin}),
    )
    .await?;
    println!(
        "created user {} (id {}{})",
        user.username,
        user.id,
        if admin { ", administrator" } else { "" }
    );
    if generated {
        println!("password: {password}");
    }
    store.close().await?;
    Ok(())
}

/// `user list`.
pub(crate) async fn user_list(config: &Config) -> anyhow::Result<()> {
    let store = open_current(config).await?;
    println!(
        "{:<6} {:<24} {:<6} {:<32} CREATED",
        "ID", "USERNAME", "ADMIN", "EMAIL"
    );
    for u in store.user_list().await? {
        println!(
            "{:<6} {:<24} {:<6} {:<32} {}",
            u.id,
            u.username,
            if u.admin { "yes" } else { "no" },
            u.email.as_deref().unwrap_or("-"),
            u.created_at.format("%Y-%m-%d %H:%M:%SZ")
        );
    }
    store.close().await?;
    Ok(())
}

/// `user passwd`.
pub(crate) async fn user_passwd(config: &Config, name: &str) -> anyhow::Result<()> {
    let store = open_current(config).await?;
    let user = user_named(&store, name).await?;
    let password = password_from_stdin()?;
    accounts::set_password(&store, user.id, &password).await?;
    audit(
        &store,
        "user.passwd",
        "user",
        Some(user.id.0),
        serde_json::json!({"username": user.username}),
    )
    .await?;
    println!("password of {} changed", user.username);
    store.close().await?;
    Ok(())
}

/// `token create`.
pub(crate) async fn token_create(
    config: &Config,
    user: &str,
    description: &str,
) -> anyhow::Result<()> {
    let store = open_current(config).await?;
    let user = user_named(&store, user).await?;
    let (token, secret) = accounts::create_token(&store, user.id, description).await?;
    audit(
        &store,
        "token.create",
        "token",
        Some(token.id.0),
        serde_json::json!({"username": user.username, "description": token.description}),
    )
    .await?;
    store.close().await?;
    println!(
        "created token {} for {}; it is shown only now:",
        token.id, user.username
    );
    println!("{secret}");
    Ok(())
}

/// `token list`.
pub(crate) async fn token_list(config: &Config, user: &str) -> anyhow::Result<()> {
    let store = open_current(config).await?;
    let user = user_named(&store, user).await?;
    println!(
        "{:<6} {:<8} {:<21} {:<21} DESCRIPTION",
        "ID", "STARTS", "CREATED", "LAST USED"
    );
    for t in store.token_list(user.id).await? {
        println!(
            "{:<6} {:<8} {:<21} {:<21} {}",
            t.id,
            t.hint,
            t.created_at.format("%Y-%m-%d %H:%M:%SZ"),
            t.last_used_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
                .unwrap_or_else(|| "never".into()),
            t.description
        );
    }
    store.close().await?;
    Ok(())
}

/// `token revoke`.
pub(crate) async fn token_revoke(config: &Config, id: i64) -> anyhow::Result<()> {
    let store = open_current(config).await?;
    let token = store.token_get(TokenId(id)).await?;
    store.token_delete(token.id).await?;
    audit(
        &store,
        "token.revoke",
        "token",
        Some(id),
        serde_json::json!({"user_id": token.user_id}),
    )
    .await?;
    println!("revoked token {id}");
    store.close().await?;
    Ok(())
}
