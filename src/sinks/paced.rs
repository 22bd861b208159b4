//! A stand-in for a sound card's callback: a thread that renders blocks of
//! [`BLOCK`] frames, each when the real clock reaches its due time, and
//! hands them to a [`BlockSink`]. Stopping is bounded: the thread checks
//! its flag before every block.

use super::SinkError;
use earshot_audio_model::config::SAMPLE_RATE;
use earshot_engine::playback::PlaybackOutput;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sample frames per block, a common sound card period.
pub(super) const BLOCK: usize = 512;

/// How long a stop waits for the thread: many blocks, whatever the disk.
const STOP_TIMEOUT: Duration = Duration::from_millis(500);

/// Where the paced blocks go.
pub(super) trait BlockSink: Send + 'static {
    /// Takes one block of interleaved samples.
    fn write(&mut self, block: &[f32]) -> Result<(), SinkError>;
    /// Called once after the last block.
    fn finish(self) -> Result<(), SinkError>;
}

/// The running thread.
#[derive(Debug)]
pub(super) struct Pacer {
    stop: Arc<AtomicBool>,
    done: Receiver<Result<(), SinkError>>,
    handle: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Starts rendering `output` in real time into `sink` on a thread
    /// named `name`.
    pub(super) fn spawn<S: BlockSink>(
        name: &str,
        mut output: PlaybackOutput,
        mut sink: S,
    ) -> Result<Self, SinkError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (tx, done) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut block = vec![0.0f32; BLOCK * output.channels()];
                let start = Instant::now();
                let mut result = Ok(());
                for n in 0u64.. {
                    let due = start + block_time(n);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    if flag.load(Ordering::Acquire) {
                        break;
                    }
                    output.render(&mut block);
                    if let Err(e) = sink.write(&block) {
                        result = Err(e);
                        break;
                    }
                }
                let result = result.and(sink.finish());
                // The receiver may be gone after a timed-out stop.
                let _ = tx.send(result);
            })
            .map_err(SinkError::Thread)?;
        Ok(Self {
            stop,
            done,
            handle: Some(handle),
        })
    }

    /// Whether the thread has ended.
    pub(super) fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the thread and returns how its sink finished.
    pub(super) fn stop(mut self) -> Result<(), SinkError> {
        self.stop.store(true, Ordering::Release);
        match self.done.recv_timeout(STOP_TIMEOUT) {
            Ok(result) => {
                if let Some(h) = self.handle.take() {
                    h.join().map_err(|_| SinkError::Panicked)?;
                }
                result
            }
            Err(RecvTimeoutError::Timeout) => Err(SinkError::StopTimeout(STOP_TIMEOUT)),
            Err(RecvTimeoutError::Disconnected) => Err(SinkError::Panicked),
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// When block `n` is due: exact in integer nanoseconds, so the pace does
/// not drift however long the run.
fn block_time(n: u64) -> Duration {
    let nanos = u128::from(n) * BLOCK as u128 * 1_000_000_000 / u128::from(SAMPLE_RATE);
    Duration::from_nanos(nanos as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_due_at_their_sample_time() {
        assert_eq!(block_time(0), Duration::ZERO);
        assert_eq!(block_time(375), Duration::from_secs(4), "375 × 512 = 4 s");
    }
}
