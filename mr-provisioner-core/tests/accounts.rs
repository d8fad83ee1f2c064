//! Accounts on both backends: users imported with the original's pbkdf2 hashes log in and are
//! upgraded to argon2; tokens authenticate by hash; the first administrator.

use mr_provisioner_core::Error;
use mr_provisioner_core::accounts::{self, UserRequest};
use mr_provisioner_core::model::user::NewUser;
use mr_provisioner_core::store_test;

/// A hash in the original's format (passlib `pbkdf2_sha256`) of the password `linaro`,
/// computed independently with Python's hashlib.
const LEGACY_LINARO: &str =
    "$pbkdf2-sha256$29000$c2FsdHNhbHRzYWx0c2FsdA$5C/5qFnhaDImgISGYPadJ/7ROVxis8QgTK/2CFjwbjU";

store_test!(legacy_hash_logs_in_and_is_upgraded, |store| {
    let user = store
        .user_create(&NewUser {
            username: "imported".into(),
            password_hash: Some(LEGACY_LINARO.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(
        accounts::login(store.as_ref(), "imported", "Linaro").await,
        Err(Error::Unauthenticated)
    ));
    // A failed login leaves the legacy hash alone.
    assert_eq!(
        store.user_password_hash(user.id).await.unwrap().as_deref(),
        Some(LEGACY_LINARO)
    );

    let logged_in = accounts::login(store.as_ref(), "imported", "linaro")
        .await
        .unwrap();
    assert_eq!(logged_in.id, user.id);
    let upgraded = store.user_password_hash(user.id).await.unwrap().unwrap();
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    // The password still works against the new hash, which is not rewritten again.
    accounts::login(store.as_ref(), "imported", "linaro")
        .await
        .unwrap();
    assert_eq!(
        store.user_password_hash(user.id).await.unwrap().unwrap(),
        upgraded
    );
});

store_test!(login_failures_look_alike, |store| {
    accounts::create_user(
        store.as_ref(),
        UserRequest {
            username: "alice".into(),
            password: Some("a long password".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    store
        .user_create(&NewUser {
            username: "nopass".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    for (user, password) in [
        ("alice", "wrong password"),
        ("nobody", "a long password"),
        ("nopass", ""),
    ] {
        assert!(
            matches!(
                accounts::login(store.as_ref(), user, password).await,
                Err(Error::Unauthenticated)
            ),
            "{user}"
        );
    }
    assert!(
        accounts::login(store.as_ref(), "alice", "a long password")
            .await
            .is_ok()
    );
});

store_test!(tokens_authenticate_by_hash_only, |store| {
    let alice = accounts::create_user(
        store.as_ref(),
        UserRequest {
            username: "alice".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (token, secret) = accounts::create_token(store.as_ref(), alice.id, "ci")
        .await
        .unwrap();
    assert!(
        !format!("{token:?}").contains(&secret),
        "the stored token never holds the secret"
    );
    let (found, user) = accounts::authenticate_token(store.as_ref(), &secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, user.id), (token.id, alice.id));
    assert!(
        store
            .token_get(token.id)
            .await
            .unwrap()
            .last_used_at
            .is_some()
    );
    for wrong in ["", &secret[1..], &secret.to_lowercase(), &"x".repeat(600)] {
        assert!(
            accounts::authenticate_token(store.as_ref(), wrong)
                .await
                .unwrap()
                .is_none(),
            "{wrong}"
        );
    }
    store.token_delete(token.id).await.unwrap();
    assert!(
        accounts::authenticate_token(store.as_ref(), &secret)
            .await
            .unwrap()
            .is_none()
    );
});

store_test!(first_administrator, |store| {
    let created = accounts::ensure_initial_admin(store.as_ref(), None)
        .await
        .unwrap()
        .unwrap();
    assert!(created.user.admin);
    assert_eq!(created.user.username, "admin");
    let password = created.generated_password.unwrap();
    assert!(password.len() >= 16);
    accounts::login(store.as_ref(), "admin", &password)
        .await
        .unwrap();
    // Only ever once.
    assert!(
        accounts::ensure_initial_admin(store.as_ref(), None)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.user_count().await.unwrap(), 1);
});

store_test!(first_administrator_with_given_password, |store| {
    let created = accounts::ensure_initial_admin(store.as_ref(), Some("chosen by the operator"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.generated_password, None);
    accounts::login(store.as_ref(), "admin", "chosen by the operator")
        .await
        .unwrap();
    // A too-short given password is refused, and nothing is created.
    let other = mr_provisioner_core::testing::TestDb::sqlite().await;
    let err = accounts::ensure_initial_admin(other.store().as_ref(), Some("short"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("8 to 1024"), "{err}");
    assert_eq!(other.store().user_count().await.unwrap(), 0);
    other.finish().await;
});
