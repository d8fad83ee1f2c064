use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_work_without_a_file() {
    let (c, warnings) = Config::load(None, env(&[])).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(c.http.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(
        c.database_url(),
        "sqlite://./mr-provisioner-data/mr-provisioner.db"
    );
    assert!(c.database_is_default());
    assert_eq!(c.tftp_root(), PathBuf::from("./mr-provisioner-data/tftp"));
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[http]\nlisten = \"0.0.0.0:8000\"\n[database]\nurl = \"sqlite:///tmp/x.db\"\n",
    )
    .unwrap();
    let (c, _) = Config::load(Some(&path), env(&[])).unwrap();
    assert_eq!(c.http.listen.to_string(), "0.0.0.0:8000");
    let (c, _) = Config::load(
        Some(&path),
        env(&[
            ("MRP_LISTEN", "127.0.0.1:6000"),
            ("MRP_DATABASE_URL", "postgres://u@h/db"),
            ("MRP_DATA_DIR", "/srv/mrp"),
            ("MRP_LOG_FORMAT", "json"),
        ]),
    )
    .unwrap();
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:6000");
    assert_eq!(c.database_url(), "postgres://u@h/db");
    assert_eq!(c.tftp_root(), PathBuf::from("/srv/mrp/tftp"));
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn unknown_variables_are_warned_about() {
    let (_, warnings) = Config::load(
        None,
        env(&[
            ("MRP_LISTN", "x"),
            ("MRP_CONFIG", "/x"),
            ("MRP_TEST_POSTGRES", "y"),
            ("PATH", "/bin"),
        ]),
    )
    .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("MRP_LISTN"));
}

#[test]
fn errors_name_source_key_and_reason() {
    let cases = [
        (
            "[http]\nlisten = \"nowhere\"\n",
            "http.listen",
            "invalid socket address",
        ),
        (
            "[http]\nlistn = \"x\"\n",
            "http.listn",
            "unknown field `listn`",
        ),
        (
            "[database]\nmax_connections = \"many\"\n",
            "database.max_connections",
            "invalid type",
        ),
        ("data_dir = 5\n", "data_dir", "invalid type"),
        ("[log]\nformat = \"xml\"\n", "log.format", "unknown variant"),
        ("[http\n", "-", "TOML parse error"),
    ];
    for (text, key, reason) in cases {
        let e = Config::from_toml(text, "/etc/mrp.toml").unwrap_err();
        assert_eq!(e.source_name, "/etc/mrp.toml", "{text}");
        assert_eq!(e.key, key, "{text}: {e}");
        assert!(e.reason.contains(reason), "{text}: {e}");
        assert!(e.to_string().starts_with("/etc/mrp.toml: "), "{e}");
    }
    let e = Config::load(None, env(&[("MRP_LISTEN", "5000")])).unwrap_err();
    assert_eq!(e.source_name, "environment variable MRP_LISTEN");
    assert_eq!(e.key, "http.listen");
    let e = Config::load(None, env(&[("MRP_DHCP_NEXT_SERVER", "tftp.lab")])).unwrap_err();
    assert_eq!(e.key, "dhcp.next_server");
    let e = Config::load(
        None,
        env(&[("MRP_KEA_HOSTS_DATABASE_URL", "mysql://kea:hunter2@db/kea")]),
    )
    .unwrap_err();
    assert_eq!(e.key, "kea.hosts_database_url");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = Config::load(
        None,
        env(&[
            ("MRP_KEA_HOSTS_DATABASE_URL", "postgres://kea@db/kea"),
            ("MRP_DHCP_NEXT_SERVER", "fd00::1"),
        ]),
    )
    .unwrap_err();
    assert_eq!(e.key, "dhcp.next_server");
    let (c, _) = Config::load(
        None,
        env(&[
            ("MRP_KEA_HOSTS_DATABASE_URL", "postgres://kea:pw@db/kea"),
            ("MRP_KEA_LEASES_DATABASE_URL", ""),
        ]),
    )
    .unwrap();
    assert!(c.kea.hosts_database_url.is_some() && c.kea.leases_database_url.is_none());
    assert!(
        !format!("{c:?}").contains("pw@"),
        "the password stays out of Debug"
    );
    let e = Config::load(None, env(&[("MRP_LOG_LEVEL", "foo=lots")])).unwrap_err();
    assert_eq!(e.key, "log.level");
    let e = Config::load(Some(Path::new("/nonexistent/mrp.toml")), env(&[])).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/mrp.toml"), "{e}");
}

#[test]
fn every_override_names_a_real_key() {
    for (env_name, key, set) in OVERRIDES {
        let mut c = Config::default();
        // Each setter accepts some value of its type.
        let sample = match *key {
            "http.listen" | "tftp.listen" => "127.0.0.1:1",
            "log.format" => "json",
            "kea.hosts_database_url" | "kea.leases_database_url" => "postgres://kea@db/kea",
            "reservations.power_off_on_expiry" | "tftp.enabled" | "kea.http_boot" => "true",
            k if k.ends_with("secs")
                || k.ends_with("_ms")
                || k.ends_with("max_connections")
                || k.ends_with("port")
                || k.ends_with("max_age")
                || k.ends_with("upload_size")
                || k.ends_with("days")
                || k.ends_with("in_flight")
                || k.starts_with("tftp.") =>
            {
                "7"
            }
            _ => "x",
        };
        set(&mut c, sample).unwrap_or_else(|e| panic!("{env_name}: {e}"));
        let canonical = format!("MRP_{}", key.replace('.', "_").to_uppercase());
        assert!(
            *env_name == canonical || *env_name == "MRP_LISTEN",
            "{env_name} vs {key}"
        );
    }
}

#[test]
fn example_config_parses_and_documents_every_key() {
    let text = include_str!("../../../examples/mr-provisioner.toml");
    let parsed = Config::from_toml(text, "examples/mr-provisioner.toml").unwrap();
    // The example states the defaults, so it must equal the defaults.
    let defaults = Config::default();
    assert_eq!(format!("{parsed:?}"), format!("{defaults:?}"));
    for (_, key, _) in OVERRIDES {
        let leaf = key.rsplit('.').next().unwrap();
        assert!(
            // Unset by default: shown commented out.
            text.lines().any(|l| l
                .trim_start()
                .trim_start_matches("# ")
                .starts_with(&format!("{leaf} ="))),
            "examples/mr-provisioner.toml does not show {key}"
        );
    }
    // Every line is a comment, a section, a key or blank; every key has a comment above it.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.contains(" = ") && !t.starts_with('#') {
            assert!(
                i > 0 && lines[i - 1].trim().starts_with('#'),
                "line {}: {t} has no comment",
                i + 1
            );
        }
    }
}

#[test]
fn the_configuration_chapter_lists_every_variable() {
    let doc = include_str!("../../../docs/configuration.md");
    for (env, key, _) in OVERRIDES {
        assert!(
            doc.contains(env),
            "docs/configuration.md does not mention {env}"
        );
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/configuration.md does not mention {key}"
        );
    }
    for env in OTHER_VARIABLES {
        assert!(
            doc.contains(env),
            "docs/configuration.md does not mention {env}"
        );
    }
}

#[test]
fn tftp_settings_are_checked() {
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let (c, _) = Config::load(None, env(&[("MRP_TFTP_LISTEN", "127.0.0.1:6969")])).unwrap();
    assert_eq!(c.tftp.listen, Some("127.0.0.1:6969".parse().unwrap()));
    // Empty: back to the default (port 69 where possible).
    let (c, _) = Config::load(None, env(&[("MRP_TFTP_LISTEN", "")])).unwrap();
    assert_eq!(c.tftp.listen, None);
    for (var, value, key) in [
        ("MRP_TFTP_MAX_BLOCK_SIZE", "7", "tftp.max_block_size"),
        ("MRP_TFTP_MAX_BLOCK_SIZE", "65465", "tftp.max_block_size"),
        ("MRP_TFTP_MAX_WINDOW_SIZE", "0", "tftp"),
        ("MRP_TFTP_LISTEN", "69", "tftp.listen"),
    ] {
        let err = Config::load(None, env(&[(var, value)])).unwrap_err();
        assert_eq!(err.key, key, "{var}={value}: {err}");
    }
}
