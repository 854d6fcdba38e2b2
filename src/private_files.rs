//! Files that hold personal data and the audit (the SQLite database and its `-wal`/`-shm`,
//! the embedded console's database, `console.log`): created readable by their owner only,
//! in folders only the owner may enter, whatever the umask. SQLite creates `-wal` and `-shm`
//! with the mode of the database file, so creating that file 0600 covers all three.

use std::path::Path;

/// Creates `dir` (and missing parents) as 0700; an existing folder is left as it is.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Creates `path` empty as 0600 when it does not exist (its folder as by [`create_dir`]); an
/// existing file is left as it is.
pub fn create_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        create_dir(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens `path` for appending, created 0600 when missing.
pub fn append(path: &Path) -> std::io::Result<std::fs::File> {
    create_file(path)?;
    std::fs::OpenOptions::new().append(true).open(path)
}

/// The warning for a file that its group or others may read or write (any bit of 077), or
/// `None`: names the file, its mode and the command that fixes it.
pub fn exposed(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            let p = path.display();
            format!(
                "the database {p} may be read by other users of this machine (mode {mode:o}) and \
                 holds personal data and the audit log: chmod 600 {p} {p}-wal {p}-shm"
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_0600_in_0700_folders_and_an_open_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a/b/scimdesk.db");
        create_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert!(exposed(&db).is_none());
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let w = exposed(&db).unwrap();
        assert!(w.contains("644") && w.contains("chmod 600"), "{w}");
        // An existing file keeps its mode and content.
        std::fs::write(&db, b"x").unwrap();
        create_file(&db).unwrap();
        assert_eq!(std::fs::read(&db).unwrap(), b"x");
    }
}
