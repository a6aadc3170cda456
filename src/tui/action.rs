//! The one registry of actions: name, description, where it applies and its default keys.
//! The keymap, the `?` help overlay and the `:` palette all read this table, so they can
//! never disagree.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    /// Any list: movement and filtering.
    List,
    Corpus,
    Inspector,
    Chat,
    Jobs,
    Eval,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::List => "lists",
            Scope::Corpus => "corpus",
            Scope::Inspector => "inspector",
            Scope::Chat => "chat",
            Scope::Jobs => "jobs",
            Scope::Eval => "eval",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Palette,
    Back,
    /// Show a screen (one per row of the screen table).
    Show(crate::tui::screens::Screen),
    /// The background tasks, to watch or cancel them.
    Tasks,
    /// Every message shown this session.
    MessageLog,
    Compose,
    ToggleRag,
    CycleModel,
    StopGeneration,
    NewSession,
    CopyAnswer,
    RateGood,
    RateBad,
    PinChunk,
    PinSource,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Filter,
    NextPane,
    PrevPane,
    Refresh,
    ToggleExclude,
    ToggleDocExclude,
    Tag,
    Untag,
    Delete,
    Sort,
    Sync,
    Dupes,
    Histogram,
    ExcludeLeft,
    ExcludeRight,
    EditQuery,
    CycleMode,
    MoreResults,
    FewerResults,
    MoreCandidates,
    FewerCandidates,
    RaiseRrfK,
    LowerRrfK,
    WhyNot,
    Theme,
    Collection,
    JobStateFilter,
    CancelJob,
    PauseJob,
    RetryJob,
    LogStream,
    Follow,
    NextChart,
    MarkJob,
    Compare,
    ToggleCluster,
    MarkRun,
    CompareRuns,
    NextMetric,
    AcceptItem,
    RejectItem,
    InspectQuestion,
}

#[derive(Clone, Copy)]
pub struct ActionSpec {
    pub action: Action,
    pub name: &'static str,
    pub desc: &'static str,
    pub scope: Scope,
    /// Default key sequences; each inner slice is one sequence (`["g", "g"]`).
    pub keys: &'static [&'static [&'static str]],
    /// What the palette form takes after the name, if anything (`:tag NAME`).
    pub arg: Option<&'static str>,
}

macro_rules! spec {
    ($action:ident, $name:literal, $scope:ident, [$([$($k:literal),+]),*], $desc:literal) => {
        ActionSpec { action: Action::$action, name: $name, desc: $desc, scope: Scope::$scope, keys: &[$(&[$($k),+]),*], arg: None }
    };
    ($action:ident, $name:literal, $scope:ident, [$([$($k:literal),+]),*], $desc:literal, $arg:literal) => {
        ActionSpec { action: Action::$action, name: $name, desc: $desc, scope: Scope::$scope, keys: &[$(&[$($k),+]),*], arg: Some($arg) }
    };
}

pub const REGISTRY: &[ActionSpec] = &[
    spec!(Quit, "quit", Global, [["q"], ["<C-c>"]], "Quit lmdeck"),
    spec!(
        Help,
        "help",
        Global,
        [["?"], ["<F1>"]],
        "Show the keys for this screen"
    ),
    spec!(
        Palette,
        "palette",
        Global,
        [[":"]],
        "Open the command palette"
    ),
    spec!(
        Back,
        "back",
        Global,
        [["<Esc>"]],
        "Back out of the current view or overlay"
    ),
    spec!(
        Tasks,
        "tasks",
        Global,
        [["<C-t>"]],
        "Background tasks: progress, x cancels one"
    ),
    spec!(
        MessageLog,
        "messages",
        Global,
        [["!"]],
        "Every message shown this session (errors included)"
    ),
    spec!(Theme, "theme", Global, [], "Switch theme", "NAME"),
    spec!(
        Collection,
        "collection",
        Global,
        [],
        "Make a collection the active one",
        "NAME"
    ),
    spec!(Up, "up", List, [["k"], ["<Up>"]], "Move up"),
    spec!(Down, "down", List, [["j"], ["<Down>"]], "Move down"),
    spec!(
        Top,
        "top",
        List,
        [["g", "g"], ["<Home>"]],
        "Go to the first row"
    ),
    spec!(
        Bottom,
        "bottom",
        List,
        [["G"], ["<End>"]],
        "Go to the last row"
    ),
    spec!(
        PageUp,
        "page-up",
        List,
        [["<C-u>"], ["<PageUp>"]],
        "Page up"
    ),
    spec!(
        PageDown,
        "page-down",
        List,
        [["<C-d>"], ["<PageDown>"]],
        "Page down"
    ),
    spec!(
        Open,
        "open",
        List,
        [["<Enter>"], ["l"]],
        "Open the selected row"
    ),
    spec!(
        Filter,
        "filter",
        List,
        [["/"]],
        "Filter the list (re: for a regex, ! to invert, tag:/status: for fields)"
    ),
    spec!(
        NextPane,
        "next-pane",
        List,
        [["<Tab>"]],
        "Focus the next pane"
    ),
    spec!(
        PrevPane,
        "prev-pane",
        List,
        [["<S-Tab>"]],
        "Focus the previous pane"
    ),
    spec!(
        Refresh,
        "refresh",
        Global,
        [["<C-r>"]],
        "Reload the current view"
    ),
    spec!(
        ToggleExclude,
        "exclude",
        Corpus,
        [["x"]],
        "Exclude or include the selected document or chunk"
    ),
    spec!(
        ToggleDocExclude,
        "exclude-document",
        Corpus,
        [["X"]],
        "Exclude or include the whole document"
    ),
    spec!(
        Tag,
        "tag",
        Corpus,
        [["t"]],
        "Add a tag to the selected document",
        "TAG"
    ),
    spec!(
        Untag,
        "untag",
        Corpus,
        [["T"]],
        "Remove a tag from the selected document",
        "TAG"
    ),
    spec!(
        Delete,
        "delete",
        Corpus,
        [["D"]],
        "Delete the selected document (asks first)"
    ),
    spec!(
        Sort,
        "sort",
        Corpus,
        [["s"]],
        "Sort documents by the next column"
    ),
    spec!(
        Sync,
        "sync",
        Corpus,
        [["S"]],
        "Sync the collection from its folders (dry-run diff first)"
    ),
    spec!(
        Dupes,
        "dupes",
        Corpus,
        [["d"]],
        "Find near-duplicate chunks",
        "THRESHOLD"
    ),
    spec!(
        Histogram,
        "histogram",
        Corpus,
        [["H"]],
        "Chunk-length histogram of the collection"
    ),
    spec!(
        ExcludeLeft,
        "exclude-a",
        Corpus,
        [["a"]],
        "Duplicates: exclude the left chunk"
    ),
    spec!(
        ExcludeRight,
        "exclude-b",
        Corpus,
        [["b"]],
        "Duplicates: exclude the right chunk"
    ),
    spec!(
        EditQuery,
        "query",
        Inspector,
        [["i"], ["e"]],
        "Edit the query (Enter runs it, Up/Down recall history)",
        "TEXT"
    ),
    spec!(
        CycleMode,
        "mode",
        Inspector,
        [["m"]],
        "Cycle hybrid, vector, keyword",
        "MODE"
    ),
    spec!(
        MoreResults,
        "k+",
        Inspector,
        [["+"], ["="]],
        "More results (k)"
    ),
    spec!(FewerResults, "k-", Inspector, [["-"]], "Fewer results (k)"),
    spec!(
        MoreCandidates,
        "candidates+",
        Inspector,
        [[">"]],
        "More candidates per stage"
    ),
    spec!(
        FewerCandidates,
        "candidates-",
        Inspector,
        [["<"]],
        "Fewer candidates per stage"
    ),
    spec!(
        RaiseRrfK,
        "rrf+",
        Inspector,
        [["]"]],
        "Raise the fusion constant rrf_k by 10"
    ),
    spec!(
        LowerRrfK,
        "rrf-",
        Inspector,
        [["["]],
        "Lower the fusion constant rrf_k by 10"
    ),
    spec!(
        Compose,
        "compose",
        Chat,
        [["i"]],
        "Write a question (Enter sends, Alt+Enter adds a line, Esc leaves)"
    ),
    spec!(
        ToggleRag,
        "rag",
        Chat,
        [["r"]],
        "Answer from retrieved sources (RAG) or from the model alone"
    ),
    spec!(
        CycleModel,
        "model",
        Chat,
        [["m"]],
        "Next chat model or endpoint"
    ),
    spec!(
        StopGeneration,
        "stop",
        Chat,
        [["s"]],
        "Stop the answer being generated"
    ),
    spec!(NewSession, "new", Chat, [["n"]], "Start a new chat session"),
    spec!(
        PinSource,
        "pin-source",
        Chat,
        [["p"]],
        "Pin the selected source: offered first in every answer of the session"
    ),
    spec!(
        PinChunk,
        "pin",
        Corpus,
        [["p"]],
        "Pin the selected chunk to the chat session (offered first as a source)"
    ),
    spec!(
        CopyAnswer,
        "copy",
        Chat,
        [["y"]],
        "Copy the last answer (OSC 52, works over SSH)"
    ),
    spec!(
        RateGood,
        "good",
        Chat,
        [["+"]],
        "Mark the last answer good (again clears): good answers become training data"
    ),
    spec!(
        RateBad,
        "bad",
        Chat,
        [["-"]],
        "Mark the last answer bad (again clears)"
    ),
    spec!(
        WhyNot,
        "why",
        Inspector,
        [["w"]],
        "Why not? Where a document or chunk fell out",
        "DOC|chunk:ID"
    ),
    spec!(
        JobStateFilter,
        "job-state",
        Jobs,
        [["f"]],
        "Show all jobs, then only active, running, queued, failed or ended ones"
    ),
    spec!(
        CancelJob,
        "cancel-job",
        Jobs,
        [["c"]],
        "Cancel the selected job (asks first)"
    ),
    spec!(
        PauseJob,
        "pause-job",
        Jobs,
        [["p"]],
        "Pause or resume the selected running job; continue a failed, cancelled or lost one from its last checkpoint"
    ),
    spec!(
        RetryJob,
        "retry-job",
        Jobs,
        [["R"]],
        "Retry the selected ended job (a new job from the same spec)"
    ),
    spec!(
        LogStream,
        "log-stream",
        Jobs,
        [["o"]],
        "Job detail: show stdout or stderr"
    ),
    spec!(
        Follow,
        "follow",
        Jobs,
        [["F"]],
        "Job detail: follow the log's end, or stay where it is"
    ),
    spec!(
        NextChart,
        "chart",
        Jobs,
        [["v"]],
        "Job detail: next chart (loss, eval loss, learning rate, grad norm, tokens/s)"
    ),
    spec!(
        MarkJob,
        "mark",
        Jobs,
        [["m"]],
        "Mark the selected job for compare"
    ),
    spec!(
        Compare,
        "compare",
        Jobs,
        [["C"]],
        "Compare the marked jobs: loss overlaid, spec differences"
    ),
    spec!(
        ToggleCluster,
        "cluster",
        Jobs,
        [["S"]],
        "Show or hide the Slurm cluster panel (in place of the GPU panel): partitions, nodes with their state, CPUs and GPUs, and your other Slurm jobs, read-only"
    ),
    spec!(
        MarkRun,
        "mark-run",
        Eval,
        [["<Space>"]],
        "Mark the selected run for comparison (the first marked is the baseline); on items, mark drafts to review together"
    ),
    spec!(
        CompareRuns,
        "compare-runs",
        Eval,
        [["c"]],
        "Compare the marked runs (all runs of the set when none is marked)"
    ),
    spec!(
        NextMetric,
        "metric",
        Eval,
        [["m"]],
        "Comparison: show the next metric in the bar chart"
    ),
    spec!(
        AcceptItem,
        "accept-item",
        Eval,
        [["a"]],
        "Items: accept the marked drafts, else the selected one"
    ),
    spec!(
        RejectItem,
        "reject-item",
        Eval,
        [["r"]],
        "Items: reject (delete) the marked drafts, else the selected one"
    ),
    spec!(
        InspectQuestion,
        "inspect-question",
        Eval,
        [["i"]],
        "Open the selected item's question in the retrieval inspector (Esc comes back)"
    ),
];

/// Every action: one per screen of the screen table, then the registry's.
pub fn all() -> &'static [ActionSpec] {
    static ALL: std::sync::LazyLock<Vec<ActionSpec>> = std::sync::LazyLock::new(|| {
        let screens = crate::tui::screens::SCREENS.iter().map(|s| ActionSpec {
            action: Action::Show(s.screen),
            name: s.name,
            desc: s.desc,
            scope: Scope::Global,
            keys: s.keys,
            arg: None,
        });
        screens.chain(REGISTRY.iter().copied()).collect()
    });
    &ALL
}

pub fn by_name(name: &str) -> Option<&'static ActionSpec> {
    all().iter().find(|s| s.name == name)
}

pub fn spec(action: Action) -> &'static ActionSpec {
    // Every variant has a row: the registry test below checks it.
    all()
        .iter()
        .find(|s| s.action == action)
        .unwrap_or(&REGISTRY[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::key::Key;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_keys_parse() {
        let mut names = HashSet::new();
        for s in all() {
            assert!(names.insert(s.name), "duplicate name {}", s.name);
            assert_eq!(spec(s.action).name, s.name, "one row per action");
            for seq in s.keys {
                for k in *seq {
                    Key::parse(k).unwrap_or_else(|e| panic!("{}: {e}", s.name));
                }
            }
        }
    }
}
