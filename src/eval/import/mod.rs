//! Importing evaluation sets: QA JSONL files, BEIR folders and SQuAD JSON files, each read
//! into a [`NewSet`] (SQuAD also yields the contexts that become its corpus).

pub mod beir_set;
pub mod jsonl;
pub mod save;
pub mod squad;
pub mod squad_corpus;

use std::path::{Path, PathBuf};

use super::set::NewSet;
use super::EvalError;

/// What a path holds, judged by what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Jsonl(PathBuf),
    Beir(PathBuf),
    Squad(PathBuf),
}

pub(crate) fn err(path: &Path, detail: impl Into<String>) -> EvalError {
    EvalError::Dataset {
        path: path.display().to_string(),
        detail: detail.into(),
    }
}

/// Tells the format from the path: a folder is BEIR, `.jsonl` QA JSONL, `.json` SQuAD.
/// The path returned is canonical.
pub fn detect(path: &Path) -> Result<Source, EvalError> {
    let canonical = path
        .canonicalize()
        .map_err(|e| err(path, format!("cannot read: {e}")))?;
    if canonical.is_dir() {
        return Ok(Source::Beir(canonical));
    }
    let ext = canonical
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("jsonl") | Some("ndjson") => Ok(Source::Jsonl(canonical)),
        Some("json") => Ok(Source::Squad(canonical)),
        _ => Err(err(
            path,
            "not a set lmdeck can import: give a QA .jsonl file, a BEIR folder (queries.jsonl + qrels/SPLIT.tsv) or a SQuAD .json file",
        )),
    }
}

/// The set name: `--name`, else the file stem or folder name.
pub fn set_name(source_path: &Path, name: Option<&str>) -> Result<String, EvalError> {
    let name = match name {
        Some(n) => n.to_string(),
        None => source_path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
    };
    check_name(&name)?;
    Ok(name)
}

/// Names are used on command lines (`eval run --set NAME --set k=3`): no `=`, no whitespace.
pub fn check_name(name: &str) -> Result<(), EvalError> {
    // A name also names the folder a SQuAD set's contexts are written to: never a path.
    if name.is_empty()
        || name.contains(['=', '/', '\\'])
        || name.starts_with('.')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(EvalError::Dataset {
            path: format!("set name `{name}`"),
            detail: "a set name must be non-empty, without `=`, `/`, `\\`, spaces or a leading `.` (`eval run --set` tells names from key=value overrides by the `=`); choose one with --name".into(),
        });
    }
    Ok(())
}

/// The folder's name, for default collection and set names.
pub fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "dataset".into())
}

/// Reads a QA JSONL file or a BEIR folder (SQuAD needs its corpus: see [`squad`]).
pub fn read_simple(
    source: &Source,
    name: Option<&str>,
    collection: Option<&str>,
    split: &str,
) -> Result<NewSet, EvalError> {
    match source {
        Source::Jsonl(path) => jsonl::read(path, &set_name(path, name)?, collection),
        Source::Beir(dir) => {
            let set_name = match name {
                Some(n) => n.to_string(),
                None => folder_name(dir),
            };
            check_name(&set_name)?;
            beir_set::read(dir, &set_name, collection, split)
        }
        Source::Squad(path) => Err(err(path, "a SQuAD file is imported with its corpus")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_tell_the_format_and_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jsonl"), "").unwrap();
        std::fs::write(dir.path().join("b.json"), "").unwrap();
        std::fs::write(dir.path().join("c.csv"), "").unwrap();
        assert!(matches!(
            detect(&dir.path().join("a.jsonl")),
            Ok(Source::Jsonl(_))
        ));
        assert!(matches!(
            detect(&dir.path().join("b.json")),
            Ok(Source::Squad(_))
        ));
        assert!(matches!(detect(dir.path()), Ok(Source::Beir(_))));
        assert!(detect(&dir.path().join("c.csv")).is_err());
        assert!(detect(&dir.path().join("none.jsonl")).is_err());
        assert!(check_name("a=b").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("").is_err());
        assert_eq!(set_name(Path::new("/x/qa.jsonl"), None).unwrap(), "qa");
    }
}
