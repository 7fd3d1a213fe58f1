//! Bearer tokens: `ldp_` followed by 64 hex digits (256 random bits from the OS). Only their
//! SHA-256 hashes are stored; a request's token is hashed and looked up, and the stored hash
//! is compared in constant time.

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use super::problem::{Problem, ProblemType};
use super::{AppState, blocking};
use crate::store::{Role, TokenGrant};

/// Prefix of every token (lets secret scanners recognise them).
pub const TOKEN_PREFIX: &str = "ldp_";

/// A new random token, from the operating system's generator.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let mut token = String::with_capacity(TOKEN_PREFIX.len() + 64);
    token.push_str(TOKEN_PREFIX);
    for byte in secret {
        token.push_str(&format!("{byte:02x}"));
    }
    Ok(token)
}

/// The SHA-256 hash under which a token is stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The token of an `Authorization: Bearer <token>` header. The scheme's name is
/// case-insensitive (RFC 9110, section 11.1), and any run of spaces or tabs may follow it.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks the request's bearer token and that its role grants `required`.
pub async fn require(
    state: &AppState,
    headers: &HeaderMap,
    required: Role,
) -> Result<Role, Problem> {
    let token = bearer_token(headers).ok_or_else(|| {
        Problem::new(
            ProblemType::Unauthorized,
            "send `Authorization: Bearer <token>`; `ldp-aggregator token create` makes one",
        )
    })?;
    let hash = token_hash(token);
    let store = state.store.clone();
    let grant = blocking(move || store.token(&hash)).await?;
    let now = state.now();
    let role = match grant {
        None => return Err(Problem::new(ProblemType::Unauthorized, "unknown token")),
        Some(grant) if !grant.valid_at(now) => {
            return Err(Problem::new(
                ProblemType::Unauthorized,
                "this token has expired; ask an admin for a new one",
            ));
        }
        Some(grant) => {
            note_use(state, hash, grant, now).await;
            grant.role
        }
    };
    match role {
        role if role.grants(required) => Ok(role),
        role => Err(Problem::new(
            ProblemType::Forbidden,
            format!(
                "a {} token cannot do this; it needs {}",
                role.name(),
                required.name()
            ),
        )),
    }
}

/// Records the day a token is used on: a write only on its first use of a day, awaited so
/// that `token list` shows it as soon as the request is answered. A failure is logged; the
/// request goes on.
async fn note_use(state: &AppState, hash: [u8; 32], grant: TokenGrant, now: u64) {
    let day = now / 86_400;
    if grant.last_used_day == Some(day) {
        return;
    }
    let store = state.store.clone();
    if let Err(e) = blocking(move || store.touch_token(&hash, day)).await {
        tracing::warn!(detail = %e.detail, "could not record a token's last use");
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::bearer_token;

    fn authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_the_token_trimmed() {
        for value in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "Bearer \t abc ",
            "bEaReR\tabc",
        ] {
            assert_eq!(
                bearer_token(&authorization(value)),
                Some("abc"),
                "{value:?}"
            );
        }
        for value in ["Basic abc", "Bearer", "Bearer   ", "Bearerabc", "abc", ""] {
            assert_eq!(bearer_token(&authorization(value)), None, "{value:?}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
