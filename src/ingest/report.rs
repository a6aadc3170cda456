//! What an ingestion run did, for people (summary lines) and scripts (JSON).

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestReport {
    pub collection: String,
    pub dry_run: bool,
    pub added: usize,
    pub modified: usize,
    pub unchanged: usize,
    /// Files that moved: their stored documents (tags, status, vectors) were kept.
    pub renamed: Vec<Renamed>,
    /// Documents gone from disk; deleted only with --prune.
    pub removed: Vec<String>,
    pub pruned: bool,
    pub duplicates: Vec<Duplicate>,
    pub skipped: Vec<SkippedInput>,
    pub unsupported: BTreeMap<String, usize>,
    pub rechunked: bool,
    pub chunks_written: usize,
    pub chunks_embedded: usize,
    pub chunks_reused: usize,
    pub tokens_embedded: usize,
    pub timings: Timings,
}

#[derive(Debug, Clone, Serialize)]
pub struct Renamed {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub path: String,
    pub duplicate_of: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedInput {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Timings {
    pub scan_s: f64,
    pub chunk_s: f64,
    pub embed_s: f64,
    pub write_s: f64,
    pub total_s: f64,
}

impl IngestReport {
    pub fn skip(&mut self, path: &str, reason: &str) {
        self.skipped.push(SkippedInput {
            path: path.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Share of the run's wall time spent embedding.
    pub fn embed_share(&self) -> f64 {
        if self.timings.total_s > 0.0 {
            self.timings.embed_s / self.timings.total_s
        } else {
            0.0
        }
    }

    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let verb = if self.dry_run { "would be" } else { "" };
        out.push(format!(
            "{}collection `{}`: {} added, {} modified, {} unchanged, {} removed{}",
            if self.dry_run { "[dry run] " } else { "" },
            self.collection,
            self.added,
            self.modified,
            self.unchanged,
            self.removed.len(),
            if self.dry_run {
                " (nothing written)"
            } else {
                ""
            }
        ));
        if self.rechunked {
            out.push(
                format!("chunker settings changed: every document {verb} re-chunked")
                    .replace("  ", " "),
            );
        }
        for r in &self.renamed {
            out.push(format!(
                "  renamed: {} -> {} (kept its tags, status and vectors)",
                r.from, r.to
            ));
        }
        for path in &self.removed {
            let what = match (self.dry_run, self.pruned) {
                (true, true) => "would be deleted",
                (false, true) => "deleted",
                _ => "gone from disk, kept (use --prune to delete)",
            };
            out.push(format!("  removed: {path}: {what}"));
        }
        for d in &self.duplicates {
            out.push(format!(
                "  duplicate: {} has the same content as {} (skipped)",
                d.path, d.duplicate_of
            ));
        }
        for s in &self.skipped {
            out.push(format!("  skipped: {}: {}", s.path, s.reason));
        }
        if !self.unsupported.is_empty() {
            let kinds: Vec<String> = self
                .unsupported
                .iter()
                .map(|(e, n)| format!("{n} {e}"))
                .collect();
            out.push(format!("  ignored unsupported files: {}", kinds.join(", ")));
        }
        if !self.dry_run && (self.added + self.modified) > 0 {
            let t = &self.timings;
            out.push(format!(
                "{} chunks written ({} embedded, {} reused), {} tokens embedded; {:.2}s total: scan {:.2}s, chunk {:.2}s, embed {:.2}s ({:.0}%), write {:.2}s",
                self.chunks_written,
                self.chunks_embedded,
                self.chunks_reused,
                self.tokens_embedded,
                t.total_s,
                t.scan_s,
                t.chunk_s,
                t.embed_s,
                self.embed_share() * 100.0,
                t.write_s
            ));
        }
        out
    }
}
