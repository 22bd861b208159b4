//! The asynchronous read-back of rendered slices. A decode's samples are
//! copied into one of a few pinned slots; a host function queued behind
//! the copy (run by a CUDA driver thread once it is done) moves them into
//! the patch's buffer and marks the decode's ticket arrived. Nobody waits:
//! the output applies the patch once the ticket has arrived.

use crate::device::Device;
use crate::error::CudaError;
use cudarc::driver::{CudaView, PinnedHostSlice};
use earshot_engine::BackendError;
use earshot_engine::backend::LandingFailed;
use earshot_engine::playback::{Arrivals, Landing, PatchBuffer, Ticket};
use std::ffi::c_void;
use std::sync::Arc;

/// Pinned slots: decodes in flight at once before one must wait (a tick
/// has at most four, and each tick boundary lets them all land).
const SLOTS: usize = 8;

/// What the completion callback of one slot does.
struct Job {
    src: *const f32,
    dst: *mut f32,
    len: usize,
    ticket: Option<Ticket>,
    arrivals: *const Arrivals,
}

/// The slots, their jobs (at fixed addresses the callbacks are given) and
/// the arrivals they report to.
pub(crate) struct LandingQueue {
    slots: Vec<PinnedHostSlice<f32>>,
    /// Host pointers of `slots`, taken once (cudarc's accessor waits on
    /// the slot's last copy).
    ptrs: Vec<*const f32>,
    jobs: Box<[Job]>,
    next: usize,
    /// Kept alive while any job may point at it.
    arrivals: Option<Arc<Arrivals>>,
}

// SAFETY: the raw pointers are pinned host memory owned by `slots`, patch
// buffers the runner lent until their tickets arrive, and the `Arrivals`
// kept alive in `arrivals`; the backend that owns this moves between
// threads only as a whole, and waits for its stream before dropping it.
unsafe impl Send for LandingQueue {}

/// The host function queued behind a read-back: runs on a CUDA driver
/// thread when the copy into the slot is done.
unsafe extern "C" fn land(arg: *mut c_void) {
    // Nothing here can panic across the C callback (a copy and atomics),
    // but a foreign clock could: never let it unwind into the driver.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `arg` is a `Job` of `LandingQueue::jobs`, which outlives every
        // queued callback (the owner waits for the stream before dropping
        // it) and is not rewritten until this ticket has arrived; `src` is
        // its pinned slot, complete once the stream reached this function;
        // `dst` is a patch buffer nobody touches until the ticket arrives.
        unsafe {
            let job = &*(arg as *const Job);
            std::ptr::copy_nonoverlapping(job.src, job.dst, job.len);
            if let Some(ticket) = job.ticket {
                (*job.arrivals).arrive(ticket);
            }
        }
    });
}

impl LandingQueue {
    /// Pinned slots of `len` values each.
    pub(crate) fn new(dev: &Device, len: usize) -> Result<Self, CudaError> {
        let mut slots = Vec::with_capacity(SLOTS);
        let mut ptrs = Vec::with_capacity(SLOTS);
        for _ in 0..SLOTS {
            // SAFETY: plain f32 read-back memory, written by copies only.
            // Not write-combined (cudarc's default): the host reads it,
            // and reads of write-combined memory are uncached.
            let mut slot = unsafe { dev.ctx.alloc_pinned_with_flags::<f32>(len, 0) }?;
            ptrs.push(slot.as_mut_ptr()?.cast_const());
            slots.push(slot);
        }
        let jobs = (0..SLOTS)
            .map(|_| Job {
                src: std::ptr::null(),
                dst: std::ptr::null_mut(),
                len: 0,
                ticket: None,
                arrivals: std::ptr::null(),
            })
            .collect();
        Ok(Self {
            slots,
            ptrs,
            jobs,
            next: 0,
            arrivals: None,
        })
    }

    /// Queues the copy of `rendered` into a slot and, behind it, its move
    /// into the front of `buffer` and the arrival of its ticket: the
    /// buffer comes back in flight under that ticket. On an error nothing
    /// writes the buffer, and it comes back ready.
    pub(crate) fn queue(
        &mut self,
        dev: &mut Device,
        rendered: &CudaView<'_, f32>,
        mut buffer: PatchBuffer,
        arrivals: &Arc<Arrivals>,
    ) -> Result<Landing, LandingFailed> {
        let len = rendered.len();
        let Some(dst) = buffer.as_mut_slice().get_mut(..len) else {
            let error = BackendError::WrongLength {
                what: "landing buffer",
                expected: len,
                found: buffer.capacity(),
            };
            return Err(LandingFailed::untouched(error, buffer));
        };
        let dst = dst.as_mut_ptr();
        match self.launch(dev, rendered, dst, arrivals) {
            // SAFETY: the queued host function writes `len` values at the
            // front of the buffer (checked above; moving the buffer keeps its
            // heap samples in place) and marks the ticket after that write.
            Ok(ticket) => Ok(unsafe { Landing::in_flight(buffer, ticket) }),
            Err(e) => Err(LandingFailed::untouched(e.into(), buffer)),
        }
    }

    /// The copy into a slot and the host function behind it; `dst` holds
    /// `rendered.len()` values, written only by that function.
    fn launch(
        &mut self,
        dev: &mut Device,
        rendered: &CudaView<'_, f32>,
        dst: *mut f32,
        arrivals: &Arc<Arrivals>,
    ) -> Result<Ticket, CudaError> {
        let k = self.next;
        let busy = self.jobs[k]
            .ticket
            .is_some_and(|t| self.arrivals.as_ref().is_some_and(|a| !a.has_arrived(t)));
        let other = self
            .arrivals
            .as_ref()
            .is_some_and(|a| !Arc::ptr_eq(a, arrivals));
        if busy || other {
            // Every slot in flight, or a new playback: let the old jobs
            // land first (never in steady state; counted).
            dev.sync()?;
        }
        if other || self.arrivals.is_none() {
            self.arrivals = Some(Arc::clone(arrivals));
            // Every old job has landed (the sync above): their tickets
            // belong to the old arrivals and must not read as busy.
            for job in self.jobs.iter_mut() {
                job.ticket = None;
            }
        }
        dev.stream.memcpy_dtoh(rendered, &mut self.slots[k])?;
        dev.counters.d2h_copies += 1;
        let ticket = arrivals.issue();
        self.jobs[k] = Job {
            src: self.ptrs[k],
            dst,
            len: rendered.len(),
            ticket: Some(ticket),
            arrivals: Arc::as_ptr(arrivals),
        };
        let job: *mut Job = &mut self.jobs[k];
        // SAFETY: `land` reads the job at its fixed address (see there);
        // the stream is this backend's own.
        unsafe {
            cudarc::driver::result::stream::launch_host_function(
                dev.stream.cu_stream(),
                land,
                job.cast(),
            )
        }?;
        self.next = (k + 1) % SLOTS;
        Ok(ticket)
    }
}
