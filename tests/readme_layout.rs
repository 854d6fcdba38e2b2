//! The README's "Layout" section is the tree, kept in step by this test as the key tables are
//! by theirs.
//!
//! The rule. The Layout is the first fenced block after `## Layout`. A line that starts in
//! the first column starts an entry, and its first word is the entry's path (`src/store/`,
//! `src/main.rs`, `benches/`); indented lines continue the entry above.
//!
//! 1. Every path named exists. An entry's path, from the repository's root. Any other word of
//!    an entry that looks like a path (it ends in `/`, or in `.rs`, `.sh`, `.py`, `.json`,
//!    `.md` or `.toml`): from the root when it starts with a directory of the root
//!    (`tests/fuzz_corpus.rs`), else somewhere below the entry's directory, at any depth
//!    (`raw.rs` in the `src/store/` entry is `src/store/sqlite/raw.rs`).
//! 2. Every module is named. Each file and directory directly under `src/` is an entry's
//!    path; and in the entry of each module directory `src/M/`, each file and directory
//!    directly inside it is named (`name.rs`, `name/`), but `mod.rs` and `tests.rs`.
//!
//! Deeper files are left to the modules' own documentation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// (path, text) of each entry of the Layout block.
fn entries(readme: &str) -> Vec<(String, String)> {
    let section = readme
        .split("\n## Layout\n")
        .nth(1)
        .expect("README has a ## Layout section");
    let block = section
        .split("```")
        .nth(1)
        .expect("the Layout section has a fenced block");
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in block.lines().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let (_, text) = entries.last_mut().expect("an indented line after an entry");
            text.push(' ');
            text.push_str(line.trim());
        } else {
            let (path, text) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            entries.push((path.to_string(), text.trim().to_string()));
        }
    }
    entries
}

/// The words of `text` that look like paths (see the module's rule 1).
fn path_words(text: &str) -> Vec<&str> {
    const EXTENSIONS: [&str; 6] = [".rs", ".sh", ".py", ".json", ".md", ".toml"];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "_-./".contains(c)))
        .map(|w| w.trim_start_matches('.'))
        .filter(|w| w.len() > 1)
        .filter(|w| w.ends_with('/') || EXTENSIONS.iter().any(|e| w.ends_with(e)))
        .collect()
}

/// Whether `name` (a relative path, `/` at its end for a directory) is below `dir`.
fn found_below(dir: &Path, name: &str) -> bool {
    let wanted = |p: &Path| {
        if name.ends_with('/') {
            p.is_dir()
        } else {
            p.is_file()
        }
    };
    if wanted(&dir.join(name.trim_end_matches('/'))) {
        return true;
    }
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            p.is_dir() && found_below(&p, name)
        })
}

/// Each file and directory directly in `dir`, as the Layout names them (`a.rs`, `b/`).
fn children(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect()
}

fn layout() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let entries = entries(&readme);
    assert!(
        entries.len() > 10,
        "the Layout block was not read: {entries:?}"
    );
    entries
}

#[test]
fn every_path_the_layout_names_exists() {
    let root = Path::new(ROOT);
    let roots = children(root);
    let mut missing = Vec::new();
    for (path, text) in layout() {
        let at = root.join(path.trim_end_matches('/'));
        if !(if path.ends_with('/') {
            at.is_dir()
        } else {
            at.is_file()
        }) {
            missing.push(path.clone());
            continue;
        }
        let below: PathBuf = if path.ends_with('/') {
            at
        } else {
            at.parent().unwrap().to_path_buf()
        };
        for word in path_words(&text) {
            let from_root = word
                .split_once('/')
                .is_some_and(|(first, _)| roots.contains(&format!("{first}/")));
            let found = if from_root {
                let p = root.join(word.trim_end_matches('/'));
                if word.ends_with('/') {
                    p.is_dir()
                } else {
                    p.is_file()
                }
            } else {
                found_below(&below, word)
            };
            if !found {
                missing.push(format!("{word} (in the entry of {path})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the README's Layout names paths that do not exist: {missing:#?}"
    );
}

#[test]
fn the_layout_names_every_module() {
    let src = Path::new(ROOT).join("src");
    let entries = layout();
    let named: BTreeSet<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    let mut omitted = Vec::new();
    for child in children(&src) {
        let path = format!("src/{child}");
        if !named.contains(path.as_str()) {
            omitted.push(path.clone());
        }
        if !child.ends_with('/') {
            continue;
        }
        let text = entries
            .iter()
            .find(|(p, _)| *p == path)
            .map_or("", |(_, t)| t.as_str());
        let words: BTreeSet<&str> = path_words(text).into_iter().collect();
        for inner in children(&src.join(&child)) {
            if inner == "mod.rs" || inner == "tests.rs" {
                continue;
            }
            if !words.contains(inner.as_str()) {
                omitted.push(format!("{path}{inner}"));
            }
        }
    }
    assert!(
        omitted.is_empty(),
        "the README's Layout does not name these modules (name each in its directory's \
         entry): {omitted:#?}"
    );
}

#[test]
fn the_rule_reads_paths_as_intended() {
    assert_eq!(
        path_words("sqlite/ (the writer/, raw.rs: jobs), `db copy`, 7643/7644, e.g. ok"),
        ["sqlite/", "writer/", "raw.rs"]
    );
    let e = entries("x\n## Layout\n\n```\nsrc/a/    one.rs\n          two/\nbenches/  b.rs\n```\n");
    assert_eq!(
        e,
        [
            ("src/a/".to_string(), "one.rs two/".to_string()),
            ("benches/".to_string(), "b.rs".to_string())
        ]
    );
}
