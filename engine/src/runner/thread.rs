//! The runner's own thread, and a shutdown that never hangs: stop raises a
//! flag the loop reads between ticks and waits a bounded time for the
//! thread to finish; a thread stuck in a stalled tick is left behind and
//! reported, not joined forever.

use super::{LiveOutput, Runner, RunnerCounters, RunnerError};
use crate::lead::LeadController;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Why a stop did not end cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    /// The thread did not finish in time; it was left behind.
    #[error("the runner did not stop within {0:?}")]
    Timeout(Duration),
    /// The loop had already ended with an error.
    #[error("the runner failed: {0}")]
    Failed(#[from] RunnerError),
    /// The thread panicked.
    #[error("the runner thread panicked")]
    Panicked,
}

/// What a stopped loop hands back: its counters and the lead controller's
/// final state (interval average, lead, stall bump).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerReport {
    /// The run's counters.
    pub counters: RunnerCounters,
    /// The lead controller as the loop left it.
    pub lead: LeadController,
}

/// A running tick loop.
#[derive(Debug)]
pub struct RunnerThread {
    stop: Arc<AtomicBool>,
    done: Receiver<Result<RunnerReport, RunnerError>>,
    handle: Option<JoinHandle<()>>,
}

impl RunnerThread {
    /// Starts the loop on a thread named `earshot-runner`.
    pub fn spawn(mut runner: Runner) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (tx, done) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("earshot-runner".into())
            .spawn(move || {
                let result = loop {
                    if flag.load(Ordering::Acquire) {
                        break Ok(RunnerReport {
                            counters: runner.counters(),
                            lead: runner.lead().clone(),
                        });
                    }
                    if let Err(e) = runner.tick(&mut LiveOutput) {
                        break Err(e);
                    }
                };
                // Tear down (backend, trace flush) before reporting, so a
                // received result means the thread is about to end and the
                // join cannot wait on teardown.
                drop(runner);
                // The receiver may be gone after a timed-out stop; nothing to do then.
                let _ = tx.send(result);
            })?;
        Ok(Self {
            stop,
            done,
            handle: Some(handle),
        })
    }

    /// Asks the loop to stop after its current tick, without waiting; a
    /// later [`RunnerThread::stop`] waits for it.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Whether the loop has ended (stopped or failed).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Asks the loop to stop and waits at most `timeout` for it.
    pub fn stop(self, timeout: Duration) -> Result<RunnerCounters, StopError> {
        self.stop_report(timeout).map(|report| report.counters)
    }

    /// Like [`stop`](Self::stop), and also hands back the lead
    /// controller's final state.
    pub fn stop_report(mut self, timeout: Duration) -> Result<RunnerReport, StopError> {
        self.stop.store(true, Ordering::Release);
        match self.done.recv_timeout(timeout) {
            Ok(result) => {
                if let Some(h) = self.handle.take() {
                    h.join().map_err(|_| StopError::Panicked)?;
                }
                Ok(result?)
            }
            Err(RecvTimeoutError::Timeout) => Err(StopError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(StopError::Panicked),
        }
    }
}

impl Drop for RunnerThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
