//! Bulk work (批量工作): a whole county's export, and the long reads behind it, runs on
//! a thread of its own at a lower CPU priority (`nice` +10 on Linux). On a county
//! server with two cores, phones' syncs then keep the cores and an export takes what
//! they leave, instead of the two sharing them equally: the export runs longer under
//! load, and no sync waits for it (BENCHMARKS.md, "while a supervisor exports").

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// How much lower than the server's other threads bulk work runs: a `nice` increment.
/// At +10 the scheduler gives a busy thread of the server about nine times the CPU of
/// a bulk thread it competes with, and a bulk thread still gets any core left idle.
pub const NICENESS: i32 = 10;

/// Runs `f` on a new thread at [`NICENESS`], inside the caller's tokio runtime (so it
/// may `block_on` the runtime's futures, as a blocking-pool thread may), and waits for
/// it without holding up the caller's worker. A panic in `f` is a panic here.
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::io::Result<T> {
    let runtime = tokio::runtime::Handle::current();
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("huhujian-bulk".into()).spawn(move || {
        let _inside = runtime.enter();
        lower_priority();
        // Nobody listening means the request was dropped: the result goes nowhere.
        drop(done.send(catch_unwind(AssertUnwindSafe(f))));
    })?;
    match result.await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => Err(std::io::Error::other("bulk thread ended without an answer")),
    }
}

/// Lowers this thread's priority by [`NICENESS`] (on Linux the nice value belongs to the
/// thread, not the process). Where it cannot be lowered, the work runs as it is.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(thread), niceness() + NICENESS) {
            tracing::debug!(error = %e, "bulk work runs at the server's priority");
        }
    }
}

/// This thread's nice value (Linux; elsewhere 0): what [`run`] lowers.
fn niceness() -> i32 {
    #[cfg(target_os = "linux")]
    {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bulk_work_runs_on_a_thread_of_lower_priority_and_can_use_the_runtime() {
        let here = niceness();
        let (there, from_runtime) = run(|| {
            let answer = tokio::runtime::Handle::current().block_on(async { 42 });
            (niceness(), answer)
        })
        .await
        .expect("a thread");
        assert_eq!(from_runtime, 42);
        if cfg!(target_os = "linux") {
            assert_eq!(there, (here + NICENESS).min(19), "the bulk thread is niced");
            assert_eq!(niceness(), here, "the caller's thread is not");
        }
    }

    #[tokio::test]
    #[should_panic(expected = "export went wrong")]
    async fn a_panic_in_bulk_work_is_a_panic_of_the_caller() {
        let _ = run(|| panic!("export went wrong")).await;
    }
}
