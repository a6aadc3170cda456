//! The corpus screen's actions: movement, opening, curation, sync, duplicates, histogram.

use super::*;

impl Corpus {
    pub fn run(
        &mut self,
        action: Action,
        arg: Option<String>,
        id: u64,
        page: usize,
    ) -> Vec<Effect> {
        match action {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                self.move_cursor(action, page);
                Vec::new()
            }
            Action::Back => {
                self.view = match self.view {
                    CorpusView::Collections => CorpusView::Collections,
                    CorpusView::Documents => {
                        if self.filter.is_some() {
                            self.filter = None;
                            self.refresh_visible(page);
                            CorpusView::Documents
                        } else {
                            CorpusView::Collections
                        }
                    }
                    CorpusView::Document | CorpusView::Dupes | CorpusView::Histogram => {
                        if self.docs.ready().is_some() {
                            CorpusView::Documents
                        } else {
                            CorpusView::Collections
                        }
                    }
                };
                Vec::new()
            }
            Action::Open => self.open(id),
            Action::Refresh => self.reload([id, id, id]),
            Action::Filter => {
                if matches!(self.view, CorpusView::Documents) {
                    let text = self
                        .filter
                        .as_ref()
                        .map_or(String::new(), |f| f.text.clone());
                    self.filter_edit = Some(LineInput::with(&text));
                } else {
                    self.error = Some(
                        "filters work on the documents table (open a collection with Enter)".into(),
                    );
                }
                Vec::new()
            }
            Action::Sort => {
                self.sort = self.sort.next();
                self.refresh_visible(page);
                Vec::new()
            }
            Action::ToggleExclude => self.toggle_exclude(),
            Action::ToggleDocExclude => match (self.selected_document(), self.active.clone()) {
                (Some(doc), Some(collection)) => {
                    vec![Effect::Corpus(CorpusEffect::SetDocExcluded {
                        collection,
                        document_id: doc.id,
                        excluded: doc.status == "active",
                    })]
                }
                _ => self.fail("select a document first"),
            },
            Action::Tag | Action::Untag => {
                match (self.selected_document(), self.active.clone(), arg) {
                    (Some(doc), Some(collection), Some(tag)) => {
                        vec![Effect::Corpus(CorpusEffect::Tag {
                            collection,
                            document_id: doc.id,
                            tag,
                            add: action == Action::Tag,
                        })]
                    }
                    _ => self.fail(
                        "select a document first (Enter on a collection opens its documents)",
                    ),
                }
            }
            Action::Sync => match self.target_collection() {
                Some(collection) => {
                    self.requests.plan = id;
                    vec![Effect::Corpus(CorpusEffect::PlanSync { id, collection })]
                }
                None => self.fail("select a collection to sync"),
            },
            Action::Dupes => {
                if let Some(arg) = arg {
                    match arg.trim().parse::<f32>() {
                        Ok(t) if (crate::curate::dupes::MIN_THRESHOLD..=1.0).contains(&t) => {
                            self.threshold = t
                        }
                        _ => {
                            return self.fail(&format!(
                                "threshold `{arg}` must be a number between 0.5 and 1, like 0.95"
                            ))
                        }
                    }
                }
                match self.target_collection() {
                    Some(collection) => {
                        let mut effects = self.switch_to(&collection, id);
                        self.view = CorpusView::Dupes;
                        self.dupes = Loadable::Loading;
                        self.dupe_cursor = Cursor::default();
                        self.requests.dupes = id;
                        effects.push(Effect::Corpus(CorpusEffect::FindDupes {
                            id,
                            collection,
                            threshold: self.threshold,
                        }));
                        effects
                    }
                    None => self.fail("select a collection first"),
                }
            }
            Action::Histogram => match self.target_collection() {
                Some(collection) => {
                    let mut effects = self.switch_to(&collection, id);
                    self.view = CorpusView::Histogram;
                    self.histogram = Loadable::Loading;
                    self.requests.histogram = id;
                    effects.push(Effect::Corpus(CorpusEffect::LoadHistogram {
                        id,
                        collection,
                    }));
                    effects
                }
                None => self.fail("select a collection first"),
            },
            Action::ExcludeLeft | Action::ExcludeRight => {
                let pair = self
                    .dupes
                    .ready()
                    .and_then(|d| d.pairs.get(self.dupe_cursor.selected));
                match (self.view, pair) {
                    (CorpusView::Dupes, Some(p)) => {
                        let chunk = if action == Action::ExcludeLeft {
                            &p.a
                        } else {
                            &p.b
                        };
                        vec![Effect::Corpus(CorpusEffect::SetChunkExcluded {
                            chunk_id: chunk.chunk.id,
                            excluded: !chunk.chunk.excluded,
                        })]
                    }
                    _ => self.fail(
                        "a and b exclude one side of a near-duplicate pair (press d to find them)",
                    ),
                }
            }
            _ => Vec::new(),
        }
    }

    /// Makes `collection` the active one, loading its documents if it was not.
    pub(super) fn switch_to(&mut self, collection: &str, id: u64) -> Vec<Effect> {
        if self.active.as_deref() == Some(collection) && self.docs.ready().is_some() {
            return Vec::new();
        }
        self.open_collection(collection, id)
    }

    pub(super) fn fail(&mut self, message: &str) -> Vec<Effect> {
        self.error = Some(message.to_string());
        Vec::new()
    }

    /// The collection an action applies to: the selected row in the list, else the active one.
    pub(super) fn target_collection(&self) -> Option<String> {
        match self.view {
            CorpusView::Collections => self
                .selected_collection()
                .map(|c| c.collection.name.clone()),
            _ => self.active.clone(),
        }
    }

    pub(super) fn move_cursor(&mut self, action: Action, page: usize) {
        let (cursor, len) = match self.view {
            CorpusView::Collections => (
                &mut self.coll_cursor,
                self.collections.ready().map_or(0, Vec::len),
            ),
            CorpusView::Documents => (&mut self.doc_cursor, self.visible.len()),
            CorpusView::Document => (
                &mut self.chunk_cursor,
                self.detail.ready().map_or(0, |d| d.chunks.len()),
            ),
            CorpusView::Dupes => (
                &mut self.dupe_cursor,
                self.dupes.ready().map_or(0, |d| d.pairs.len()),
            ),
            CorpusView::Histogram => return,
        };
        cursor.apply(action, len, page);
    }

    pub(super) fn open(&mut self, id: u64) -> Vec<Effect> {
        match self.view {
            CorpusView::Collections => match self.selected_collection() {
                Some(c) => {
                    let name = c.collection.name.clone();
                    self.open_collection(&name, id)
                }
                None => Vec::new(),
            },
            CorpusView::Documents => match self.selected_document() {
                Some(doc) => {
                    let doc_id = doc.id;
                    self.open_document(doc_id, id)
                }
                None => Vec::new(),
            },
            CorpusView::Dupes => {
                let pair = self
                    .dupes
                    .ready()
                    .and_then(|d| d.pairs.get(self.dupe_cursor.selected));
                match pair {
                    Some(p) => {
                        let doc_id = p.a.chunk.document_id;
                        self.open_document(doc_id, id)
                    }
                    None => Vec::new(),
                }
            }
            CorpusView::Document | CorpusView::Histogram => Vec::new(),
        }
    }

    pub(super) fn toggle_exclude(&mut self) -> Vec<Effect> {
        match self.view {
            CorpusView::Document => {
                let chunk = self
                    .detail
                    .ready()
                    .and_then(|d| d.chunks.get(self.chunk_cursor.selected));
                match chunk {
                    Some(c) => vec![Effect::Corpus(CorpusEffect::SetChunkExcluded {
                        chunk_id: c.id,
                        excluded: !c.excluded,
                    })],
                    None => self.fail("no chunk selected"),
                }
            }
            CorpusView::Documents => match (self.selected_document(), self.active.clone()) {
                (Some(doc), Some(collection)) => {
                    vec![Effect::Corpus(CorpusEffect::SetDocExcluded {
                        collection,
                        document_id: doc.id,
                        excluded: doc.status == "active",
                    })]
                }
                _ => self.fail("no document selected"),
            },
            _ => self.fail("x excludes the selected document or chunk: open a collection first"),
        }
    }
}
