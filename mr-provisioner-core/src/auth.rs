//! Password hashing and verification, generated passwords, API tokens and console tokens.

use std::fmt::Write as _;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::Hmac;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The stored hash is in no format we know (message says which prefix was seen, never the hash itself).
    #[error("unsupported password hash format: {0}")]
    UnsupportedHash(String),
    /// The stored hash has a known prefix but is malformed.
    #[error("malformed password hash: {0}")]
    MalformedHash(&'static str),
    /// Hashing failed (the message of the underlying library).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The operating system's random source failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password does not match.
    Mismatch,
    /// The password matches and the stored hash is current.
    Match,
    /// The password matches but the stored hash is a legacy format or weaker parameters: the caller should store `hash_password(password)` instead.
    MatchNeedsRehash,
}

/// A freshly generated API token: the secret (shown to the user once) and what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedToken {
    /// The secret token, shown to the user once and never stored.
    pub token: String,
    /// `hash_api_token(&token)`: what the database stores.
    pub hash: String,
    /// `token_hint(&token)`: shown in listings so users can tell tokens apart.
    pub hint: String,
}

// Argon2id parameters recommended by OWASP (19 MiB of memory, 2 passes, 1 lane).
const ARGON2_M_COST: u32 = 19_456;
const ARGON2_T_COST: u32 = 2;
const ARGON2_P_COST: u32 = 1;
const ARGON2_SALT_LEN: usize = 16;
const ARGON2_OUTPUT_LEN: usize = 32;
// Upper bounds for parameters read from stored hashes, so that a bogus hash
// cannot make a login allocate gigabytes or spin for minutes.
const ARGON2_MAX_M_COST: u32 = 1 << 20; // 1 GiB
const ARGON2_MAX_T_COST: u32 = 64;
const ARGON2_MAX_P_COST: u32 = 64;

const PBKDF2_IDENT: &str = "pbkdf2-sha256";
const PBKDF2_MAX_ROUNDS: u32 = 10_000_000;
const PBKDF2_OUTPUT_LEN: usize = 32;
const PBKDF2_MAX_SALT_LEN: usize = 1024; // passlib's own limit

const PASSWORD_LEN: usize = 20;
/// Letters and digits without the look-alikes 0, O, 1, l and I.
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
const API_TOKEN_BYTES: usize = 32;
const CONSOLE_TOKEN_BYTES: usize = 24;
const TOKEN_HINT_CHARS: usize = 6;

/// Hashes `password` with argon2id (m=19456 KiB, t=2, p=1, random 16-byte salt) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt: [u8; ARGON2_SALT_LEN] = random_bytes()?;
    let output_len = Some(ARGON2_OUTPUT_LEN);
    let params = Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, output_len)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(hash.to_string())
}

/// Checks `password` against `stored`, an argon2 PHC string or a legacy passlib `pbkdf2_sha256` hash.
///
/// A match against a legacy or weaker hash gives [`PasswordCheck::MatchNeedsRehash`].
pub fn verify_password(password: &str, stored: &str) -> Result<PasswordCheck, AuthError> {
    let rest = stored.strip_prefix('$').unwrap_or_default();
    let scheme = rest.split_once('$').map_or(rest, |(scheme, _)| scheme);
    // For errors: name the scheme, but never echo what might be a hash or a password.
    let name_like = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    let plausible = rest.len() > scheme.len() && (1..=32).contains(&scheme.len());
    match scheme {
        "argon2id" | "argon2i" | "argon2d" => verify_argon2(password, stored),
        PBKDF2_IDENT => verify_pbkdf2(password, stored),
        _ if plausible && scheme.bytes().all(name_like) => {
            Err(AuthError::UnsupportedHash(format!("${scheme}$")))
        }
        _ => Err(AuthError::UnsupportedHash("no prefix".to_owned())),
    }
}

/// Generates a random 20-character password from letters and digits without look-alikes.
pub fn generate_password() -> Result<String, AuthError> {
    // Rejection sampling: only bytes below the largest multiple of the alphabet
    // size are used, so that every character is equally likely.
    let limit = 256 - 256 % PASSWORD_ALPHABET.len();
    let mut password = String::with_capacity(PASSWORD_LEN);
    while password.len() < PASSWORD_LEN {
        let batch: [u8; 32] = random_bytes()?;
        let usable = batch.map(usize::from).into_iter().filter(|&b| b < limit);
        let chars = usable.filter_map(|b| PASSWORD_ALPHABET.get(b % PASSWORD_ALPHABET.len()));
        let missing = PASSWORD_LEN - password.len();
        password.extend(chars.take(missing).map(|&c| char::from(c)));
    }
    Ok(password)
}

/// Generates an API token: 32 random bytes in standard, padded base64 (44 characters).
pub fn generate_api_token() -> Result<GeneratedToken, AuthError> {
    let bytes: [u8; API_TOKEN_BYTES] = random_bytes()?;
    let token = STANDARD.encode(bytes);
    Ok(GeneratedToken {
        hash: hash_api_token(&token),
        hint: token_hint(&token),
        token,
    })
}

/// Hashes an API token for storage: lower-case hex SHA-256 of the token's bytes.
#[must_use]
pub fn hash_api_token(token: &str) -> String {
    // A fast unsalted hash is right here, unlike for passwords: tokens carry 256
    // bits of randomness, so neither brute force nor precomputed tables are
    // feasible, and a deterministic hash lets the token be looked up by its hash.
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// The first 6 characters of `token` (fewer if it is shorter), to tell tokens apart in listings.
#[must_use]
pub fn token_hint(token: &str) -> String {
    token.chars().take(TOKEN_HINT_CHARS).collect()
}

/// Generates a console token: 24 random bytes as 48 lower-case hex characters.
pub fn generate_console_token() -> Result<String, AuthError> {
    let bytes: [u8; CONSOLE_TOKEN_BYTES] = random_bytes()?;
    Ok(to_hex(&bytes))
}

fn verify_argon2(password: &str, stored: &str) -> Result<PasswordCheck, AuthError> {
    use argon2::password_hash::Error as E;
    let mut hash =
        PasswordHash::new(stored).map_err(|_| AuthError::MalformedHash("invalid PHC string"))?;
    let params =
        Params::try_from(&hash).map_err(|_| AuthError::MalformedHash("invalid argon2 params"))?;
    let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
    if m > ARGON2_MAX_M_COST || t > ARGON2_MAX_T_COST || p > ARGON2_MAX_P_COST {
        return Err(AuthError::MalformedHash("argon2 params exceed our limits"));
    }
    let (Some(salt), Some(output)) = (&hash.salt, &hash.hash) else {
        return Err(AuthError::MalformedHash("argon2 hash lacks salt or output"));
    };
    let strong_enough = m >= ARGON2_M_COST
        && t >= ARGON2_T_COST
        && p >= ARGON2_P_COST
        && salt.len() >= ARGON2_SALT_LEN
        && output.len() >= ARGON2_OUTPUT_LEN;
    // The Argon2 reference implementation reads a missing `v=` as version 0x10,
    // while the argon2 crate would assume 0x13: follow the reference.
    let version = *hash.version.get_or_insert(u32::from(Version::V0x10));
    let current = strong_enough
        && hash.algorithm == argon2::ARGON2ID_IDENT
        && version == u32::from(Version::V0x13);
    match Argon2::default().verify_password(password.as_bytes(), &hash) {
        Ok(()) if current => Ok(PasswordCheck::Match),
        Ok(()) => Ok(PasswordCheck::MatchNeedsRehash),
        Err(E::PasswordInvalid) => Ok(PasswordCheck::Mismatch),
        Err(e @ (E::Crypto | E::Internal | E::OutOfMemory)) => {
            Err(AuthError::Hashing(e.to_string()))
        }
        Err(_) => Err(AuthError::MalformedHash("argon2 hash rejected by argon2")),
    }
}

/// Verifies passlib's `$pbkdf2-sha256$<rounds>$<salt>$<checksum>` format.
fn verify_pbkdf2(password: &str, stored: &str) -> Result<PasswordCheck, AuthError> {
    let fields: Vec<&str> = stored.split('$').collect();
    let ["", PBKDF2_IDENT, rounds, salt, checksum] = fields.as_slice() else {
        return Err(AuthError::MalformedHash("pbkdf2 hash needs 4 `$` fields"));
    };
    let rounds = Some(rounds)
        .filter(|r| r.bytes().all(|b| b.is_ascii_digit())) // `parse` would accept "+1"
        .and_then(|r| r.parse::<u32>().ok())
        .filter(|r| (1..=PBKDF2_MAX_ROUNDS).contains(r))
        .ok_or(AuthError::MalformedHash("pbkdf2 rounds out of range"))?;
    let salt = ab64_decode(salt).ok_or(AuthError::MalformedHash("bad pbkdf2 salt encoding"))?;
    if salt.len() > PBKDF2_MAX_SALT_LEN {
        return Err(AuthError::MalformedHash("pbkdf2 salt is too long"));
    }
    let expected =
        ab64_decode(checksum).ok_or(AuthError::MalformedHash("bad pbkdf2 checksum encoding"))?;
    if expected.len() != PBKDF2_OUTPUT_LEN {
        return Err(AuthError::MalformedHash("pbkdf2 checksum is not 32 bytes"));
    }
    let mut computed = [0u8; PBKDF2_OUTPUT_LEN];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password.as_bytes(), &salt, rounds, &mut computed)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    if bool::from(computed.as_slice().ct_eq(expected.as_slice())) {
        Ok(PasswordCheck::MatchNeedsRehash)
    } else {
        Ok(PasswordCheck::Mismatch)
    }
}

/// Decodes passlib's "adapted base64": the standard alphabet with `.` for `+`
/// and no padding. Like passlib, a `+` is accepted too.
fn ab64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD.decode(text.replace('.', "+")).ok()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(bytes)
}

fn to_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::PasswordCheck::{Match, MatchNeedsRehash as Rehash, Mismatch};
    use super::*;

    // Printed by Python: salt b"saltsaltsaltsalt" and
    // hashlib.pbkdf2_hmac("sha256", b"linaro", salt, 29000), both in adapted base64.
    const PY_SALT: &str = "c2FsdHNhbHRzYWx0c2FsdA";
    const PY_CHECKSUM: &str = "5C/5qFnhaDImgISGYPadJ/7ROVxis8QgTK/2CFjwbjU";

    fn ab64_encode(bytes: &[u8]) -> String {
        STANDARD_NO_PAD.encode(bytes).replace('+', ".")
    }

    /// An argon2 hash of "pw" with the given algorithm, version, memory and time cost.
    fn argon2_hash(algorithm: Algorithm, version: Version, m: u32, t: u32) -> String {
        let params = Params::new(m, t, 1, None).unwrap();
        let argon2 = Argon2::new(algorithm, version, params);
        let hash = argon2.hash_password_with_salt(b"pw", b"0123456789abcdef");
        hash.unwrap().to_string()
    }

    fn assert_checks(cases: &[(&str, &str, PasswordCheck)]) {
        for &(password, stored, expected) in cases {
            let got = verify_password(password, stored);
            assert_eq!(got.unwrap(), expected, "{password:?} against {stored}");
        }
    }

    fn is_lower_hex(s: &str, len: usize) -> bool {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    #[test]
    fn argon2_verification_and_rehash_detection() {
        let current = hash_password("correct horse").unwrap();
        let expected_prefix = "$argon2id$v=19$m=19456,t=2,p=1$";
        assert!(current.starts_with(expected_prefix), "{current}");
        assert_ne!(current, hash_password("correct horse").unwrap());
        let weak = argon2_hash(Algorithm::Argon2id, Version::V0x13, 8, 1);
        assert!(weak.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{weak}");
        let argon2i = argon2_hash(Algorithm::Argon2i, Version::V0x13, 8, 1);
        let (m, t) = (ARGON2_M_COST, ARGON2_T_COST);
        let strong_argon2d = argon2_hash(Algorithm::Argon2d, Version::V0x13, m, t);
        // Without `v=`, version 0x10 is assumed as in the reference implementation.
        let unversioned = argon2_hash(Algorithm::Argon2id, Version::V0x10, 8, 1);
        let unversioned = unversioned.replace("$v=16", "");
        assert_checks(&[
            ("correct horse", &current, Match),
            ("correct horsE", &current, Mismatch),
            ("", &current, Mismatch),
            ("pw", &weak, Rehash),
            ("pW", &weak, Mismatch),
            ("pw", &argon2i, Rehash),
            ("pw", &strong_argon2d, Rehash),
            ("pw", &unversioned, Rehash),
            ("pW", &unversioned, Mismatch),
        ]);
    }

    #[test]
    fn pbkdf2_vectors() {
        // Built with the pbkdf2 crate from raw salt bytes (not UTF-8; encodes with a `.`).
        let salt = [0xfb, 0xef, 0xbe, 0x00, 0xff, 0x10, 0x80, 0x7f, 0x01, 0x02];
        let mut checksum = [0u8; 32];
        pbkdf2::pbkdf2::<Hmac<Sha256>>(b"s3cret", &salt, 1000, &mut checksum).unwrap();
        let (salt, checksum) = (ab64_encode(&salt), ab64_encode(&checksum));
        let ours = format!("$pbkdf2-sha256$1000${salt}${checksum}");
        assert!(ours.contains('.'), "{ours}");
        let other_rounds = format!("$pbkdf2-sha256$1001${salt}${checksum}");
        let python = format!("$pbkdf2-sha256$29000${PY_SALT}${PY_CHECKSUM}");
        // passlib's documented example; its password is unknown to us.
        let passlib = "$pbkdf2-sha256$29000$w9gbo5TSOuf8H8PYO6eUUg$\
                       im9mV2Krmkx1aI18lag6L8ZEX7JfpMOAFNQfyatsgTo";
        assert_checks(&[
            ("s3cret", &ours, Rehash),
            ("s3cre", &ours, Mismatch),
            ("s3cret", &other_rounds, Mismatch),
            ("linaro", &python, Rehash),
            ("Linaro", &python, Mismatch),
            ("not the password", passlib, Mismatch),
        ]);
    }

    #[test]
    fn ab64_round_trip() {
        let inputs: [&[u8]; 6] = [b"", b"a", b"ab", &[0xfb, 0xff], &[0xf8; 7], &[0; 32]];
        for bytes in inputs {
            let encoded = ab64_encode(bytes);
            assert!(!encoded.contains(['+', '=']), "{encoded}");
            assert_eq!(ab64_decode(&encoded).as_deref(), Some(bytes));
        }
        assert_eq!(ab64_encode(&[0xfb, 0xef, 0xbe]), "....");
        assert_eq!(ab64_decode("c2FsdA").as_deref(), Some(&b"salt"[..]));
        for bad in ["c2FsdA==", "c2F sdA", "c2FsdB", "c", "c2Fs*A"] {
            assert_eq!(ab64_decode(bad), None, "{bad}");
        }
    }

    /// One stored hash per line; TAIL is the `salt$hash` of a valid argon2 hash.
    const MALFORMED: &str = "\
        $argon2id\n$argon2id$\n$argon2id$v=19$m=8,t=1,p=1\n$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ\n\
        $argon2id$v=19$m=4294967295,t=1,p=1$TAIL\n$argon2id$v=19$m=8,t=1000,p=1$TAIL\n\
        $argon2id$v=19$m=8,t=0,p=1$TAIL\n$argon2id$v=19$m=x,t=1,p=1$TAIL\n\
        $argon2id$v=18$m=8,t=1,p=1$TAIL\n$argon2id$v=19$m=8,t=1,p=1,z=1$TAIL\n\
        $argon2id$v=19$m=8,t=1,p=1$!!!!$TAIL\n$argon2id$v=19$m=8,t=1,p=1$TAIL$extra\n\
        $argon2id$v=19$m=8,t=1,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAA\n\
        $pbkdf2-sha256\n$pbkdf2-sha256$\n$pbkdf2-sha256$29000\n$pbkdf2-sha256$29000$SALT\n\
        $pbkdf2-sha256$29000$SALT$CHK$\n$pbkdf2-sha256$$SALT$CHK\n$pbkdf2-sha256$0$SALT$CHK\n\
        $pbkdf2-sha256$10000001$SALT$CHK\n$pbkdf2-sha256$99999999999999999999$SALT$CHK\n\
        $pbkdf2-sha256$abc$SALT$CHK\n$pbkdf2-sha256$+29000$SALT$CHK\n\
        $pbkdf2-sha256$-1$SALT$CHK\n$pbkdf2-sha256$ 29000$SALT$CHK\n\
        $pbkdf2-sha256$29000$*salt*$CHK\n$pbkdf2-sha256$29000$LONG$CHK\n\
        $pbkdf2-sha256$29000$SALT$*CHK\n$pbkdf2-sha256$29000$SALT$CHK=\n\
        $pbkdf2-sha256$29000$SALT$c2FsdA\n$pbkdf2-sha256$29000$SALT$CHKAAAA\n\
        $pbkdf2-sha256$29000$SALT$";

    #[test]
    fn malformed_hashes() {
        let weak = argon2_hash(Algorithm::Argon2id, Version::V0x13, 8, 1);
        let tail = weak.splitn(5, '$').nth(4).unwrap();
        let long_salt = "A".repeat(2000);
        for case in MALFORMED.lines() {
            let stored = (case.replace("TAIL", tail).replace("LONG", &long_salt))
                .replace("SALT", PY_SALT)
                .replace("CHK", PY_CHECKSUM);
            let got = verify_password("linaro", &stored);
            assert!(
                matches!(got, Err(AuthError::MalformedHash(_))),
                "{case}: {got:?}"
            );
        }
    }

    #[test]
    fn truncated_hashes_never_panic() {
        let argon2 = argon2_hash(Algorithm::Argon2id, Version::V0x13, 8, 1);
        let pbkdf2 = format!("$pbkdf2-sha256$1${PY_SALT}${PY_CHECKSUM}");
        for stored in [argon2, pbkdf2] {
            for end in 0..=stored.len() {
                let _ = verify_password("pw", &stored[..end]);
            }
        }
        let _ = verify_password("pw", "$\u{e9}$\u{1f600}$");
    }

    #[test]
    fn unsupported_formats() {
        let cases = [
            ("", "no prefix"),
            ("hunter2", "no prefix"),
            ("$", "no prefix"),
            ("$$", "no prefix"),
            ("$2b", "no prefix"),
            ("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi", "$2b$"),
            ("$1$saltsalt$hash", "$1$"),
            ("$pbkdf2-sha512$25000$c2FsdA$AAAA", "$pbkdf2-sha512$"),
            ("$argon2$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAA", "$argon2$"),
            ("pbkdf2-sha256$29000$c2FsdA$AAAA", "no prefix"),
            ("{SSHA}abcdef", "no prefix"),
            ("$hunter 2$rest", "no prefix"),
        ];
        for (stored, prefix) in cases {
            // The message names the prefix only: neither the hash nor the password.
            let message = verify_password("hunter2", stored).unwrap_err().to_string();
            assert_eq!(
                message,
                format!("unsupported password hash format: {prefix}")
            );
        }
    }

    #[test]
    fn api_tokens() {
        let generated = generate_api_token().unwrap();
        let token = &generated.token;
        assert_eq!(token.len(), 44);
        assert_eq!(STANDARD.decode(token).unwrap().len(), 32);
        assert_eq!(generated.hash, hash_api_token(token));
        assert!(is_lower_hex(&generated.hash, 64), "{}", generated.hash);
        assert_eq!(generated.hint.len(), 6);
        assert!(token.starts_with(&generated.hint));
        assert_ne!(generate_api_token().unwrap().token, generated.token);
        let sha256_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash_api_token("abc"), sha256_abc);
        assert_eq!(token_hint("abc"), "abc");
        assert_eq!(token_hint("abcdefg"), "abcdef");
        assert_eq!(token_hint("éééééééé"), "éééééé");
    }

    #[test]
    fn console_tokens() {
        let token = generate_console_token().unwrap();
        assert!(is_lower_hex(&token, 48), "{token}");
        assert_ne!(token, generate_console_token().unwrap());
    }

    #[test]
    fn generated_passwords() {
        for _ in 0..50 {
            let password = generate_password().unwrap();
            let in_alphabet = password.bytes().all(|b| PASSWORD_ALPHABET.contains(&b));
            assert!(password.len() == PASSWORD_LEN && in_alphabet, "{password}");
            assert!(!password.contains(['0', 'O', '1', 'l', 'I']), "{password}");
        }
        assert_ne!(generate_password().unwrap(), generate_password().unwrap());
    }
}
