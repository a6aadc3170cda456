//! Finding input files: folders are walked like ripgrep does (.gitignore, .ignore and hidden
//! files respected); a path named explicitly is always taken.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::loaders::Format;
use super::pathname;
use super::types::Skipped;

#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    pub path: PathBuf,
    /// Absolute path as stored in the database.
    pub source: String,
    pub format: Format,
}

#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<FileEntry>,
    pub skipped: Vec<Skipped>,
    /// Files of unsupported types, counted by extension.
    pub unsupported: BTreeMap<String, usize>,
}

/// Absolute, normalised form of a root as given by the user.
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

pub fn walk(roots: &[PathBuf]) -> Walked {
    let mut walked = Walked::default();
    for root in roots {
        if !root.exists() {
            walked.skipped.push(Skipped {
                path: pathname::encode(root),
                reason: "path does not exist".into(),
            });
            continue;
        }
        let builder = ignore::WalkBuilder::new(root)
            .hidden(true)
            .git_ignore(true)
            .require_git(false)
            .follow_links(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in builder {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    walked.skipped.push(Skipped {
                        path: error_path(&err).unwrap_or_else(|| pathname::encode(root)),
                        reason: format!("cannot read: {err}"),
                    });
                    continue;
                }
            };
            match entry.file_type() {
                Some(t) if t.is_file() => add(&mut walked, entry.path()),
                Some(t) if t.is_dir() => {}
                // A link named as a root is taken, as any path named explicitly.
                Some(t) if t.is_symlink() && entry.depth() == 0 && entry.path().is_file() => {
                    add(&mut walked, entry.path())
                }
                // Nothing is dropped unsaid: links and special files are skips with a reason.
                Some(t) if t.is_symlink() => walked.skipped.push(Skipped {
                    path: pathname::encode(entry.path()),
                    reason: symlink_reason(entry.path()),
                }),
                Some(t) => walked.skipped.push(Skipped {
                    path: pathname::encode(entry.path()),
                    reason: format!("not a regular file ({})", kind_of(&t)),
                }),
                None => {}
            }
        }
    }
    walked
}

fn add(walked: &mut Walked, path: &Path) {
    match Format::from_path(path) {
        Some(format) => walked.files.push(FileEntry {
            source: pathname::encode(&absolute(path)),
            path: path.to_path_buf(),
            format,
        }),
        None => {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| format!(".{}", e.to_ascii_lowercase()))
                .unwrap_or_else(|| "(no extension)".into());
            *walked.unsupported.entry(ext).or_default() += 1;
        }
    }
}

/// Why a symbolic link met in a folder is not ingested: links are not followed (a loop or
/// a link out of the folder would be walked otherwise).
fn symlink_reason(path: &Path) -> String {
    match std::fs::metadata(path) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => "symbolic link loop".into(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "dangling symbolic link (its target does not exist)".into()
        }
        Err(e) => format!("symbolic link that cannot be resolved: {e}"),
        Ok(_) => "symbolic link, not followed (name its target to ingest it)".into(),
    }
}

/// A short name for a file type, for skip reasons.
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else {
        "an unknown kind of file"
    }
}

fn error_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(pathname::encode(path)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_gitignore_and_hidden_files_and_counts_unsupported_types() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "drafts/\n").unwrap();
        std::fs::create_dir_all(root.join("drafts")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::write(root.join("drafts/x.md"), "x").unwrap();
        std::fs::write(root.join(".hidden/y.md"), "y").unwrap();
        std::fs::write(root.join("a.md"), "a").unwrap();
        std::fs::write(root.join("b.txt"), "b").unwrap();
        std::fs::write(root.join("logo.png"), "p").unwrap();
        let walked = walk(&[root.to_path_buf(), root.join("missing")]);
        let names: Vec<_> = walked
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["a.md", "b.txt"]);
        assert_eq!(walked.unsupported.get(".png"), Some(&1));
        assert_eq!(walked.skipped.len(), 1);
        assert!(walked.skipped[0].reason.contains("does not exist"));
    }

    #[test]
    fn links_and_special_files_are_skipped_with_a_reason() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("good.md"), "good").unwrap();
        std::os::unix::fs::symlink("missing.md", root.join("dangling.md")).unwrap();
        std::os::unix::fs::symlink("loop-b.md", root.join("loop-a.md")).unwrap();
        std::os::unix::fs::symlink("loop-a.md", root.join("loop-b.md")).unwrap();
        std::os::unix::fs::symlink("good.md", root.join("link.md")).unwrap();
        let fifo = root.join("pipe.md");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let socket = std::os::unix::net::UnixListener::bind(root.join("sock.md")).unwrap();

        let walked = walk(&[root.to_path_buf()]);
        let names: Vec<_> = walked.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(names, [root.join("good.md")]);
        let reason = |name: &str| {
            let path = pathname::encode(&root.join(name));
            walked
                .skipped
                .iter()
                .find(|s| s.path == path)
                .map(|s| s.reason.clone())
                .unwrap_or_else(|| panic!("{name} not reported: {:?}", walked.skipped))
        };
        assert!(reason("dangling.md").contains("dangling"));
        assert!(reason("loop-a.md").contains("loop"));
        assert!(reason("loop-b.md").contains("loop"));
        assert!(reason("link.md").contains("not followed"));
        assert!(reason("pipe.md").contains("FIFO"));
        assert!(reason("sock.md").contains("socket"));
        drop(socket);

        // A link named as a root is taken.
        let walked = walk(&[root.join("link.md")]);
        assert_eq!(walked.files.len(), 1);
    }

    #[test]
    fn names_that_differ_only_in_invalid_bytes_stay_two_files() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        for name in [&b"nonutf8-\xff\xfe.md"[..], b"nonutf8-\xfe\xff.md"] {
            let path = dir.path().join(std::ffi::OsStr::from_bytes(name));
            std::fs::write(path, name).unwrap();
        }
        let walked = walk(&[dir.path().to_path_buf()]);
        let sources: Vec<_> = walked.files.iter().map(|f| f.source.as_str()).collect();
        assert_eq!(sources.len(), 2);
        assert_ne!(sources[0], sources[1]);
        assert!(sources
            .iter()
            .all(|s| s.ends_with(".md") && s.contains("\\x")));
        for f in &walked.files {
            assert_eq!(pathname::decode(&f.source), absolute(&f.path));
        }
    }
}
