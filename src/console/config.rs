//! The console's config file: TOML in the user's config dir (`config.toml`), holding named
//! profiles and key overrides. The admin token never lives in the file itself: a profile
//! names an environment variable or a file readable by its owner only (mode 0600). The config
//! file itself must be private too (it says where the token is and which CAs to trust): a
//! config or token file that its group or others may read or write is refused.
//!
//! ```toml
//! default_profile = "prod"
//!
//! [profiles.prod]
//! url = "https://scim.example.com"
//! org = "acme-1234"
//! token_env = "SCIMDESK_PROD_TOKEN"      # or: token_file = "/home/me/.config/scimdesk/prod.token"
//! ca_file = "/etc/ssl/private-ca.pem"    # optional: a CA to trust beside the system's
//!
//! [keys]                                 # action = [keys]; see the README's key table
//! approve = ["a", "ctrl-a"]
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub url: Option<String>,
    pub org: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    /// A PEM file of CA certificates trusted beside the system's roots, for a server whose
    /// certificate a private CA signed. Certificates are always verified.
    pub ca_file: Option<PathBuf>,
}

/// What the command line says about where to connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub url: Option<String>,
    pub org: Option<String>,
    pub profile: Option<String>,
    /// The value of `SCIMDESK_TOKEN`.
    pub token: Option<String>,
}

/// Where the console connects.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    Remote {
        url: String,
        org: String,
        token: String,
        /// Where the token came from, for error messages; never the token.
        token_source: String,
        /// The profile's `ca_file`, if any.
        ca_file: Option<PathBuf>,
    },
    /// Nothing configured: the in-process service provider.
    Embedded,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Remote {
                url,
                org,
                token_source,
                ca_file,
                ..
            } => {
                write!(f, "Remote({url}, {org}, token from {token_source}")?;
                if let Some(ca) = ca_file {
                    write!(f, ", CA {}", ca.display())?;
                }
                f.write_str(")")
            }
            Target::Embedded => f.write_str("Embedded"),
        }
    }
}

/// The config and data directories; `SCIMDESK_CONFIG_DIR` and `SCIMDESK_DATA_DIR` override
/// the platform's (useful for tests and for several setups on one machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Dirs {
    pub fn from_env() -> Result<Dirs, String> {
        let project = directories::ProjectDirs::from("", "", "scimdesk");
        let pick = |var: &str, default: Option<PathBuf>| -> Result<PathBuf, String> {
            match std::env::var_os(var) {
                Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
                _ => default.ok_or_else(|| {
                    format!("no home directory found; set {var} to a directory scimdesk may use")
                }),
            }
        };
        Ok(Dirs {
            config: pick(
                "SCIMDESK_CONFIG_DIR",
                project.as_ref().map(|p| p.config_dir().to_path_buf()),
            )?,
            data: pick(
                "SCIMDESK_DATA_DIR",
                project.as_ref().map(|p| p.data_dir().to_path_buf()),
            )?,
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config.join("config.toml")
    }
}

impl ConfigFile {
    /// A missing file is an empty config; one that others may read or write is refused.
    pub fn load(path: &Path) -> Result<ConfigFile, String> {
        match check_private(path, "config file") {
            Ok(()) => {}
            Err(e) if e.kind == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
            Err(e) => return Err(e.message),
        }
        match std::fs::read_to_string(path) {
            Ok(text) => ConfigFile::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn parse(text: &str) -> Result<ConfigFile, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Decides where to connect. Flags and `SCIMDESK_TOKEN` win over the profile; with no
    /// profile chosen and no flag, the embedded default.
    pub fn resolve(
        &self,
        o: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        read_file: &dyn Fn(&Path) -> Result<String, String>,
    ) -> Result<Target, String> {
        let name = o.profile.clone().or_else(|| self.default_profile.clone());
        let profile = match &name {
            Some(n) => Some(self.profiles.get(n).ok_or_else(|| {
                let known = self.profiles.keys().cloned().collect::<Vec<_>>().join(", ");
                format!(
                    "no profile '{n}' in the config file; known profiles: {}",
                    if known.is_empty() { "none" } else { &known }
                )
            })?),
            None => None,
        };
        if profile.is_none() && o.url.is_none() && o.org.is_none() && o.token.is_none() {
            return Ok(Target::Embedded);
        }
        let p = profile.cloned().unwrap_or_default();
        let pname = name.as_deref().unwrap_or("");
        let url = o.url.clone().or(p.url).ok_or_else(|| {
            format!("no server url: pass --url or set `url` in profile '{pname}'")
        })?;
        let org =
            o.org.clone().or(p.org).ok_or_else(|| {
                "no organization: pass --org or set `org` in the profile".to_string()
            })?;
        let (token, token_source) = if let Some(t) = &o.token {
            (t.clone(), "SCIMDESK_TOKEN".to_string())
        } else if let Some(var) = &p.token_env {
            let t = env(var).filter(|t| !t.trim().is_empty()).ok_or_else(|| {
                format!("profile '{pname}' takes its token from ${var}, which is not set")
            })?;
            (t, format!("${var} (profile '{pname}')"))
        } else if let Some(file) = &p.token_file {
            let t = read_file(file)?;
            (
                t.trim().to_string(),
                format!("{} (profile '{pname}')", file.display()),
            )
        } else {
            return Err(format!(
                "no admin token: set SCIMDESK_TOKEN, or `token_env` or `token_file` in profile \
                 '{pname}'"
            ));
        };
        Ok(Target::Remote {
            url,
            org,
            token,
            token_source,
            ca_file: p.ca_file,
        })
    }
}

/// Why a file was refused, with the kind of the underlying I/O error (if any).
struct Refusal {
    kind: std::io::ErrorKind,
    message: String,
}

/// Refuses a file that its group or others may read or write (any mode bit in 0o077): it
/// holds a secret or says where secrets are. The message names the file and the fix.
fn check_private(path: &Path, what: &str) -> Result<(), Refusal> {
    let meta = std::fs::metadata(path).map_err(|e| Refusal {
        kind: e.kind(),
        message: format!("cannot read the {what} {}: {e}", path.display()),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Refusal {
                kind: std::io::ErrorKind::PermissionDenied,
                message: format!(
                    "the {what} {} is readable or writable by others (mode {mode:o}); run \
                     `chmod 600 {}`",
                    path.display(),
                    path.display()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// Reads a token file, refusing one that others can read: a token is a password.
pub fn read_token_file(path: &Path) -> Result<String, String> {
    check_private(path, "token file").map_err(|r| r.message)?;
    std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
default_profile = "prod"
[profiles.prod]
url = "https://scim.example.com"
org = "acme"
token_env = "PROD_TOKEN"
[profiles.lab]
url = "http://127.0.0.1:8080"
org = "lab"
token_file = "/tmp/lab.token"
[keys]
approve = ["A"]
"#;

    fn env(var: &str) -> Option<String> {
        (var == "PROD_TOKEN").then(|| "secret-prod".to_string())
    }

    fn file(p: &Path) -> Result<String, String> {
        Ok(format!("secret-from-{}\n", p.display()))
    }

    fn remote(t: Target) -> (String, String, String, String) {
        match t {
            Target::Remote {
                url,
                org,
                token,
                token_source,
                ..
            } => (url, org, token, token_source),
            Target::Embedded => panic!("expected a remote target"),
        }
    }

    #[test]
    fn nothing_configured_means_embedded() {
        let c = ConfigFile::default();
        assert_eq!(
            c.resolve(&Overrides::default(), &env, &file).unwrap(),
            Target::Embedded
        );
    }

    #[test]
    fn default_profile_reads_its_token_from_the_env_var() {
        let c = ConfigFile::parse(FILE).unwrap();
        let (url, org, token, src) = remote(c.resolve(&Overrides::default(), &env, &file).unwrap());
        assert_eq!(url, "https://scim.example.com");
        assert_eq!(org, "acme");
        assert_eq!(token, "secret-prod");
        assert!(src.contains("$PROD_TOKEN"));
        assert!(!src.contains("secret"));
        assert_eq!(c.keys["approve"], vec!["A".to_string()]);
    }

    #[test]
    fn profile_flag_and_token_file() {
        let c = ConfigFile::parse(FILE).unwrap();
        let o = Overrides {
            profile: Some("lab".into()),
            ..Default::default()
        };
        let (url, _, token, _) = remote(c.resolve(&o, &env, &file).unwrap());
        assert_eq!(url, "http://127.0.0.1:8080");
        assert_eq!(token, "secret-from-/tmp/lab.token");
    }

    #[test]
    fn flags_and_scimdesk_token_override_the_profile() {
        let c = ConfigFile::parse(FILE).unwrap();
        let o = Overrides {
            url: Some("http://other".into()),
            org: Some("o2".into()),
            token: Some("t2".into()),
            profile: None,
        };
        let (url, org, token, src) = remote(c.resolve(&o, &env, &file).unwrap());
        assert_eq!(
            (url.as_str(), org.as_str(), token.as_str()),
            ("http://other", "o2", "t2")
        );
        assert_eq!(src, "SCIMDESK_TOKEN");
    }

    #[test]
    fn errors_say_what_to_do() {
        let c = ConfigFile::parse(FILE).unwrap();
        let o = Overrides {
            profile: Some("nope".into()),
            ..Default::default()
        };
        let e = c.resolve(&o, &env, &file).unwrap_err();
        assert!(e.contains("known profiles: lab, prod"), "{e}");
        let e = ConfigFile::default()
            .resolve(
                &Overrides {
                    url: Some("http://x".into()),
                    ..Default::default()
                },
                &env,
                &file,
            )
            .unwrap_err();
        assert!(e.contains("--org"), "{e}");
        assert!(ConfigFile::parse("[profiles.x]\nurl = 1\n").is_err());
        assert!(ConfigFile::parse("bogus = 1\n").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn token_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, "tok\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_token_file(&p).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&p).unwrap(), "tok\n");
    }

    #[cfg(unix)]
    #[test]
    fn config_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        assert_eq!(
            ConfigFile::load(&p).unwrap(),
            ConfigFile::default(),
            "missing is empty"
        );
        std::fs::write(&p, FILE).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602, 0o620] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = ConfigFile::load(&p).unwrap_err();
            assert!(
                e.contains(&format!("chmod 600 {}", p.display())),
                "{mode:o}: {e}"
            );
            assert!(e.contains("config file"), "{e}");
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let c = ConfigFile::load(&p).unwrap();
            assert_eq!(c.default_profile.as_deref(), Some("prod"));
        }
    }

    #[test]
    fn a_profile_names_an_extra_ca() {
        let c = ConfigFile::parse(
            "[profiles.p]\nurl = \"https://h\"\norg = \"o\"\ntoken_env = \"PROD_TOKEN\"\nca_file = \"/etc/ca.pem\"\n",
        )
        .unwrap();
        let o = Overrides {
            profile: Some("p".into()),
            ..Default::default()
        };
        match c.resolve(&o, &env, &file).unwrap() {
            Target::Remote { ca_file, .. } => {
                assert_eq!(ca_file, Some(PathBuf::from("/etc/ca.pem")))
            }
            Target::Embedded => panic!("expected a remote target"),
        }
        let t = ConfigFile::parse(FILE)
            .unwrap()
            .resolve(&Overrides::default(), &env, &file)
            .unwrap();
        assert!(matches!(t, Target::Remote { ca_file: None, .. }));
    }
}
