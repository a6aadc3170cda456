//! The corpus screen's state: collections, the documents table, a document's chunks, the
//! near-duplicate finder and the chunk-length histogram.

mod actions;

use super::filter::{Fields, Filter};
use super::input::{Edit, LineInput};
use super::list::Cursor;
use super::{Confirm, Loadable};
use crate::curate::histogram::Histogram;
use crate::store::collections::CollectionStats;
use crate::store::documents::DocumentRow;
use crate::tui::action::Action;
use crate::tui::effect::{CorpusEffect, Effect};
use crate::tui::key::Key;
use crate::tui::msg::{CorpusReply, DocDetail, DupView};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CorpusView {
    #[default]
    Collections,
    Documents,
    Document,
    Dupes,
    Histogram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DocSort {
    #[default]
    Path,
    Chunks,
    Size,
    Status,
    Modified,
}

impl DocSort {
    pub fn next(self) -> DocSort {
        match self {
            DocSort::Path => DocSort::Chunks,
            DocSort::Chunks => DocSort::Size,
            DocSort::Size => DocSort::Status,
            DocSort::Status => DocSort::Modified,
            DocSort::Modified => DocSort::Path,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DocSort::Path => "path",
            DocSort::Chunks => "chunks (most first)",
            DocSort::Size => "size (largest first)",
            DocSort::Status => "status",
            DocSort::Modified => "modified (newest first)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Corpus {
    pub view: CorpusView,
    pub active: Option<String>,
    pub collections: Loadable<Vec<CollectionStats>>,
    pub coll_cursor: Cursor,
    pub docs: Loadable<Vec<DocumentRow>>,
    /// Indices into `docs` after filter and sort: the rows the table shows.
    pub visible: Vec<usize>,
    pub doc_cursor: Cursor,
    pub sort: DocSort,
    pub filter: Option<Filter>,
    pub filter_edit: Option<LineInput>,
    pub detail: Loadable<DocDetail>,
    pub chunk_cursor: Cursor,
    pub dupes: Loadable<DupView>,
    pub dupe_cursor: Cursor,
    pub threshold: f32,
    pub histogram: Loadable<Histogram>,
    /// The chunk to select when the document being loaded arrives.
    focus_chunk: Option<i64>,
    requests: Requests,
    error: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Requests {
    collections: u64,
    docs: u64,
    detail: u64,
    dupes: u64,
    histogram: u64,
    plan: u64,
}

impl Default for Corpus {
    fn default() -> Self {
        Corpus {
            view: CorpusView::Collections,
            active: None,
            collections: Loadable::Idle,
            coll_cursor: Cursor::default(),
            docs: Loadable::Idle,
            visible: Vec::new(),
            doc_cursor: Cursor::default(),
            sort: DocSort::Path,
            filter: None,
            filter_edit: None,
            detail: Loadable::Idle,
            chunk_cursor: Cursor::default(),
            dupes: Loadable::Idle,
            dupe_cursor: Cursor::default(),
            threshold: 0.95,
            histogram: Loadable::Idle,
            focus_chunk: None,
            requests: Requests::default(),
            error: None,
        }
    }
}

impl Corpus {
    pub fn start_collections(&mut self, id: u64) -> Vec<Effect> {
        self.requests.collections = id;
        if self.collections.ready().is_none() {
            self.collections = Loadable::Loading;
        }
        vec![Effect::Corpus(CorpusEffect::LoadCollections { id })]
    }

    pub fn is_current_plan(&self, id: u64) -> bool {
        self.requests.plan == id
    }

    /// An error for the shell to show as a toast, once.
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }

    pub fn clamp(&mut self, page: usize) {
        self.coll_cursor.clamp(self.collection_count(), page);
        self.doc_cursor.clamp(self.visible.len(), page);
    }

    fn collection_count(&self) -> usize {
        self.collections.ready().map_or(0, Vec::len)
    }

    /// A source path relative to the active collection's folder it came from, for display.
    pub fn short_path<'a>(&self, path: &'a str) -> &'a str {
        let roots = self
            .collections
            .ready()
            .and_then(|l| {
                l.iter()
                    .find(|c| Some(c.collection.name.as_str()) == self.active.as_deref())
            })
            .map(|c| c.roots.as_slice())
            .unwrap_or_default();
        roots
            .iter()
            .filter_map(|r| path.strip_prefix(r.as_str()))
            .filter_map(|rest| rest.strip_prefix('/'))
            .min_by_key(|rest| rest.len())
            .unwrap_or(path)
    }

    pub fn selected_collection(&self) -> Option<&CollectionStats> {
        self.collections.ready()?.get(self.coll_cursor.selected)
    }

    /// The document the current view points at: the table row or the open document.
    pub fn selected_document(&self) -> Option<&DocumentRow> {
        match self.view {
            CorpusView::Document => self.detail.ready().map(|d| &d.doc),
            CorpusView::Documents => {
                let idx = *self.visible.get(self.doc_cursor.selected)?;
                self.docs.ready()?.get(idx)
            }
            _ => None,
        }
    }

    pub fn open_collection(&mut self, name: &str, id: u64) -> Vec<Effect> {
        self.active = Some(name.to_string());
        self.view = CorpusView::Documents;
        self.filter = None;
        self.doc_cursor = Cursor::default();
        self.requests.docs = id;
        self.docs = Loadable::Loading;
        self.visible.clear();
        if let Some(list) = self.collections.ready() {
            if let Some(pos) = list.iter().position(|c| c.collection.name == name) {
                self.coll_cursor.selected = pos;
            }
        }
        vec![Effect::Corpus(CorpusEffect::LoadDocuments {
            id,
            collection: name.to_string(),
        })]
    }

    /// Opens the document holding `chunk_id`, with that chunk selected.
    pub fn open_chunk(&mut self, chunk_id: i64, id: u64) -> Vec<Effect> {
        self.view = CorpusView::Document;
        self.requests.detail = id;
        self.detail = Loadable::Loading;
        self.chunk_cursor = Cursor::default();
        self.focus_chunk = Some(chunk_id);
        vec![Effect::Corpus(CorpusEffect::LoadChunk { id, chunk_id })]
    }

    pub fn open_document(&mut self, document_id: i64, id: u64) -> Vec<Effect> {
        self.view = CorpusView::Document;
        self.requests.detail = id;
        self.detail = Loadable::Loading;
        self.chunk_cursor = Cursor::default();
        vec![Effect::Corpus(CorpusEffect::LoadDocument {
            id,
            document_id,
        })]
    }

    /// Reloads the collection list and whatever view is open. `ids` are fresh request ids.
    pub fn reload(&mut self, ids: [u64; 3]) -> Vec<Effect> {
        let mut effects = self.start_collections(ids[0]);
        if let Some(active) = self.active.clone() {
            self.requests.docs = ids[1];
            effects.push(Effect::Corpus(CorpusEffect::LoadDocuments {
                id: ids[1],
                collection: active,
            }));
        }
        if let (CorpusView::Document, Some(d)) = (self.view, self.detail.ready()) {
            self.requests.detail = ids[2];
            effects.push(Effect::Corpus(CorpusEffect::LoadDocument {
                id: ids[2],
                document_id: d.doc.id,
            }));
        }
        if let (CorpusView::Histogram, Some(active)) = (self.view, self.active.clone()) {
            self.requests.histogram = ids[2];
            effects.push(Effect::Corpus(CorpusEffect::LoadHistogram {
                id: ids[2],
                collection: active.clone(),
            }));
        }
        if let (CorpusView::Dupes, Some(active)) = (self.view, self.active.clone()) {
            self.requests.dupes = ids[2];
            effects.push(Effect::Corpus(CorpusEffect::FindDupes {
                id: ids[2],
                collection: active,
                threshold: self.threshold,
            }));
        }
        effects
    }

    pub fn on_reply(&mut self, reply: CorpusReply, page: usize) -> Vec<Effect> {
        match reply {
            CorpusReply::Collections { id, result } if id == self.requests.collections => {
                self.collections = Loadable::from_answer(result);
                self.coll_cursor.clamp(self.collection_count(), page);
                if self.active.is_none() {
                    // The first collection becomes the active one, so the inspector has one.
                    self.active = self
                        .collections
                        .ready()
                        .and_then(|l| l.first())
                        .map(|c| c.collection.name.clone());
                }
            }
            CorpusReply::Documents { id, result } if id == self.requests.docs => {
                self.docs = Loadable::from_answer(result);
                self.refresh_visible(page);
            }
            CorpusReply::Document { id, result } if id == self.requests.detail => {
                self.detail = Loadable::from_answer(result);
                if let (Some(chunk), Some(d)) = (self.focus_chunk.take(), self.detail.ready()) {
                    if let Some(pos) = d.chunks.iter().position(|c| c.id == chunk) {
                        self.chunk_cursor.selected = pos;
                    }
                }
                let n = self.detail.ready().map_or(0, |d| d.chunks.len());
                self.chunk_cursor.clamp(n, page);
            }
            CorpusReply::Dupes { id, result } if id == self.requests.dupes => {
                self.dupes = Loadable::from_answer(result);
                let n = self.dupes.ready().map_or(0, |d| d.pairs.len());
                self.dupe_cursor.clamp(n, page);
            }
            CorpusReply::Histogram { id, result } if id == self.requests.histogram => {
                self.histogram = Loadable::from_answer(result);
            }
            _ => {} // a stale reply: a newer request replaced it
        }
        Vec::new()
    }

    /// Applies the filter and the sort to the documents: the rows the table shows.
    pub fn refresh_visible(&mut self, page: usize) {
        let Some(docs) = self.docs.ready() else {
            self.visible.clear();
            return;
        };
        let keep = |d: &DocumentRow| match &self.filter {
            None => true,
            Some(f) => f.matches(&Fields {
                text: self.short_path(&d.source_path),
                tags: &d.tags,
                status: &d.status,
            }),
        };
        let mut visible: Vec<usize> = (0..docs.len()).filter(|&i| keep(&docs[i])).collect();
        match self.sort {
            DocSort::Path => {
                visible.sort_by(|&a, &b| docs[a].source_path.cmp(&docs[b].source_path))
            }
            DocSort::Chunks => visible.sort_by_key(|&i| std::cmp::Reverse(docs[i].chunks)),
            DocSort::Size => visible.sort_by_key(|&i| std::cmp::Reverse(docs[i].size)),
            DocSort::Status => visible.sort_by(|&a, &b| docs[a].status.cmp(&docs[b].status)),
            DocSort::Modified => visible.sort_by_key(|&i| std::cmp::Reverse(docs[i].mtime)),
        }
        self.visible = visible;
        self.doc_cursor.clamp(self.visible.len(), page);
    }

    /// A key while the filter field is open. Typing filters live; a bad regex keeps the last
    /// good filter and reports the error on Enter.
    pub fn filter_key(&mut self, key: Key, page: usize) -> Result<(), String> {
        let Some(input) = self.filter_edit.as_mut() else {
            return Ok(());
        };
        match input.handle(key) {
            Edit::Cancel => {
                self.filter_edit = None;
                self.filter = None;
                self.refresh_visible(page);
                Ok(())
            }
            Edit::Submit => {
                let text = input.text.clone();
                self.filter_edit = None;
                self.apply_filter(&text, page)
            }
            Edit::Changed => {
                let text = input.text.clone();
                // Half-typed regexes are normal while typing: errors wait for Enter.
                let _ = self.apply_filter(&text, page);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn apply_filter(&mut self, text: &str, page: usize) -> Result<(), String> {
        if text.is_empty() {
            self.filter = None;
        } else {
            self.filter = Some(Filter::parse(text)?);
        }
        self.doc_cursor = Cursor::default();
        self.refresh_visible(page);
        Ok(())
    }

    pub fn delete_request(&self) -> Result<Confirm, String> {
        let (Some(doc), Some(collection)) = (self.selected_document(), self.active.clone()) else {
            return Err("select a document to delete".into());
        };
        Ok(Confirm::Delete {
            collection,
            document_id: doc.id,
            label: format!("{} ({} chunks)", doc.source_path, doc.chunks),
        })
    }
}
