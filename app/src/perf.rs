//! User Timing marks and measures (`performance.mark` / `performance.measure`) around
//! the app's own work, so that the benchmark (tests/browser/bench.mjs) and a browser's
//! performance panel can read how long it took. Every name starts with `hhj:`:
//!
//! | name | kind | what |
//! |---|---|---|
//! | `hhj:main` | mark | the wasm `main` has started (the bundle is fetched, compiled and instantiated) |
//! | `hhj:load-rows` | measure | start-up: read the household list's kept rows from IndexedDB (the list shows them) |
//! | `hhj:load-docs` | measure | start-up, after that: read every document and sync state, `Automerge::load` each, 8 at a time |
//! | `hhj:list-rows` | measure | the household list's rows: the kept ones, and any document's that changed computed again (hydrate, summarise, conflicts) |
//! | `hhj:open-household` | measure | opening a household page: hydrate its document (`household()`) and list its conflicts |
//! | `hhj:save-visit` | measure | saving the visit form: edit + Automerge commit + save, IndexedDB write until durable, unsynced count |
//! | `hhj:save:commit` | measure | inside a save: `edit_from` (one commit) and `save()` to bytes |
//! | `hhj:save:idb` | measure | inside a save: the IndexedDB transaction, until complete |
//!
//! A measurement costs a few microseconds and changes nothing the user sees. Where the
//! Performance API is missing, nothing is recorded.

use web_sys::Performance;

fn performance() -> Option<Performance> {
    web_sys::window()?.performance()
}

/// Records the mark `name` now.
pub fn mark(name: &str) {
    if let Some(p) = performance() {
        let _ = p.mark(name);
    }
}

/// A measurement under way: [`Span::end`] records the measure `name` from its start.
#[derive(Debug)]
#[must_use = "a span records nothing until `end` is called"]
pub struct Span {
    name: &'static str,
}

/// Starts measuring `name`. Spans of one name should not overlap: the measure runs from
/// the latest start.
pub fn start(name: &'static str) -> Span {
    mark(&format!("{name}:start"));
    Span { name }
}

impl Span {
    /// Records the measure, from the start to now.
    pub fn end(self) {
        if let Some(p) = performance() {
            let start = format!("{}:start", self.name);
            let _ = p.measure_with_start_mark(self.name, &start);
            p.clear_marks_with_mark_name(&start);
        }
    }
}
