//! Finding input files: folders are walked like ripgrep does (.gitignore, .ignore and hidden
//! files respected); a path named explicitly is always taken.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::loaders::Format;
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
                path: root.display().to_string(),
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
            match entry {
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                    add(&mut walked, entry.path())
                }
                Ok(_) => {}
                Err(err) => walked.skipped.push(Skipped {
                    path: error_path(&err).unwrap_or_else(|| root.display().to_string()),
                    reason: format!("cannot read: {err}"),
                }),
            }
        }
    }
    walked
}

fn add(walked: &mut Walked, path: &Path) {
    match Format::from_path(path) {
        Some(format) => walked.files.push(FileEntry {
            source: absolute(path).display().to_string(),
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

fn error_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
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
}
