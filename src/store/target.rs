//! Where a store lives, as `--db` (or `SCIMDESK_DATABASE_URL`) names it: a path or
//! `sqlite:PATH` for SQLite, `postgres://USER@HOST:PORT/DB` (or `postgresql://`) for
//! PostgreSQL.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    /// A libpq-style URL; it may carry a password, so it is shown only through
    /// [`DbTarget::redacted`].
    Postgres(String),
}

impl DbTarget {
    /// Reads `--db`: `postgres://` and `postgresql://` URLs are PostgreSQL; `sqlite:PATH`,
    /// `sqlite://PATH` and anything else are a SQLite file.
    pub fn parse(text: &str) -> Result<DbTarget, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("--db is empty: give a SQLite file or a postgres:// URL".into());
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(DbTarget::Postgres(text.to_string()));
        }
        if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
            // Not echoed: a malformed URL may still hold a password.
            return Err("--db is not a PostgreSQL URL: write postgres://USER@HOST:PORT/DB".into());
        }
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        if path.is_empty() {
            return Err("sqlite: needs a path, as in sqlite:/var/lib/scimdesk/scimdesk.db".into());
        }
        Ok(DbTarget::Sqlite(PathBuf::from(path)))
    }

    pub fn engine(&self) -> &'static str {
        match self {
            DbTarget::Sqlite(_) => "sqlite",
            DbTarget::Postgres(_) => "postgres",
        }
    }

    /// The target as it may be logged or shown: a PostgreSQL password becomes `***`.
    pub fn redacted(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => format!("sqlite:{}", p.display()),
            DbTarget::Postgres(url) => redact(url),
        }
    }
}

/// A URL with the password of its userinfo (`user:password@`) and any `password=` query
/// parameter replaced by `***`.
fn redact(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (auth, host) = match rest.rsplit_once('@') {
                Some((a, h)) => (Some(a), h),
                None => (None, rest),
            };
            match auth {
                Some(a) => match a.split_once(':') {
                    Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                    None => format!("{scheme}://{a}@{host}"),
                },
                None => format!("{scheme}://{host}"),
            }
        }
        None => head.to_string(),
    };
    if let Some(q) = query {
        let parts: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&parts.join("&"));
    }
    out
}

impl FromStr for DbTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DbTarget::parse(s)
    }
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_sqlite_urls_are_sqlite_and_postgres_urls_are_postgres() {
        let sqlite = |p: &str| DbTarget::Sqlite(PathBuf::from(p));
        assert_eq!(
            DbTarget::parse("scimdesk.db").unwrap(),
            sqlite("scimdesk.db")
        );
        assert_eq!(
            DbTarget::parse("sqlite:/a/b.db").unwrap(),
            sqlite("/a/b.db")
        );
        assert_eq!(
            DbTarget::parse("sqlite:///a/b.db").unwrap(),
            sqlite("/a/b.db")
        );
        assert_eq!(
            DbTarget::parse("postgres://u@h:5432/d").unwrap(),
            DbTarget::Postgres("postgres://u@h:5432/d".into())
        );
        assert_eq!(
            DbTarget::parse("PostgreSQL://u@h/d").unwrap().engine(),
            "postgres"
        );
        assert!(DbTarget::parse("").is_err());
        assert!(DbTarget::parse("sqlite:").is_err());
        let e = DbTarget::parse("postgres:u:secret@h/d").unwrap_err();
        assert!(e.contains("postgres://USER@HOST:PORT/DB"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn passwords_never_show() {
        let t =
            DbTarget::parse("postgres://app:s3cret@db.internal:5432/scim?sslmode=require").unwrap();
        assert_eq!(
            t.redacted(),
            "postgres://app:***@db.internal:5432/scim?sslmode=require"
        );
        assert!(!format!("{t} {t:?}").contains("s3cret"));
        let t = DbTarget::parse("postgres://h/scim?user=app&password=s3cret").unwrap();
        assert_eq!(t.redacted(), "postgres://h/scim?user=app&password=***");
        let t = DbTarget::parse("postgres://app@h/scim").unwrap();
        assert_eq!(t.redacted(), "postgres://app@h/scim");
    }
}
