//! A patch buffer as a render hands it back: either its samples are there,
//! or a device copy is still landing in it under a [`Ticket`]. The type is
//! the contract: the only way back to the samples (or to the pool) is
//! [`Landing::take`], which gives the buffer up once its ticket has arrived
//! and not before, and a landing dropped in flight leaks its buffer rather
//! than free memory a copy may still write.

use super::arrivals::Arrivals;
use super::message::PatchBuffer;
use std::mem::ManuallyDrop;
use std::num::NonZeroU64;

/// One asynchronous copy into a patch buffer, issued by [`Arrivals::issue`]
/// and marked by [`Arrivals::arrive`]; tickets are issued and arrive in
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(NonZeroU64);

impl Ticket {
    /// The ticket of serial `n` (the first issued is 1); `None` for 0.
    pub fn new(n: u64) -> Option<Self> {
        NonZeroU64::new(n).map(Self)
    }

    /// The ticket after serial `n` (saturating: never 0).
    pub(super) fn after(n: u64) -> Self {
        Self(NonZeroU64::MIN.saturating_add(n))
    }

    /// Its serial.
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The ticket issued just before this one, if any.
    pub fn previous(self) -> Option<Self> {
        Self::new(self.get() - 1)
    }
}

/// A patch buffer a render was asked to fill (see
/// [`Renderer::decode_landing`](crate::backend::Renderer::decode_landing)).
#[derive(Debug)]
pub struct Landing {
    buffer: ManuallyDrop<PatchBuffer>,
    ticket: Option<Ticket>,
}

impl Landing {
    /// A buffer whose samples are there (a synchronous render, or one not
    /// started).
    pub fn ready(buffer: PatchBuffer) -> Self {
        Self {
            buffer: ManuallyDrop::new(buffer),
            ticket: None,
        }
    }

    /// A buffer a device copy is still writing; it is handed back only once
    /// `ticket` has arrived.
    ///
    /// # Safety
    /// Whoever makes it (a device backend) must write only inside the
    /// buffer and mark `ticket` arrived only after its last write.
    pub unsafe fn in_flight(buffer: PatchBuffer, ticket: Ticket) -> Self {
        Self {
            buffer: ManuallyDrop::new(buffer),
            ticket: Some(ticket),
        }
    }

    /// The pool the buffer belongs to.
    pub(super) fn pool_id(&self) -> u64 {
        self.buffer.pool_id
    }

    /// The copy still landing, if there is one.
    pub fn ticket(&self) -> Option<Ticket> {
        self.ticket
    }

    /// Whether the samples are in the buffer.
    pub fn has_landed(&self, arrivals: &Arrivals) -> bool {
        self.ticket.is_none_or(|t| arrivals.has_arrived(t))
    }

    /// The samples, once they have landed.
    pub fn samples(&self, arrivals: &Arrivals) -> Option<&[f32]> {
        self.has_landed(arrivals).then(|| self.buffer.as_slice())
    }

    /// The buffer back, once its samples have landed; the landing itself
    /// while they have not.
    pub fn take(mut self, arrivals: &Arrivals) -> Result<PatchBuffer, Self> {
        if !self.has_landed(arrivals) {
            return Err(self);
        }
        self.ticket = None;
        // SAFETY: `self` is forgotten right after, so the buffer is moved
        // out exactly once and its drop does not run.
        let buffer = unsafe { ManuallyDrop::take(&mut self.buffer) };
        std::mem::forget(self);
        Ok(buffer)
    }
}

impl Drop for Landing {
    /// A landing dropped without [`take`](Self::take): its buffer is freed
    /// when no copy can still be writing it, and leaked otherwise (the
    /// arrivals are not at hand to ask; never in steady state).
    fn drop(&mut self) {
        if self.ticket.is_none() {
            // SAFETY: dropped once, here; `self.buffer` is never used again.
            unsafe { ManuallyDrop::drop(&mut self.buffer) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer() -> PatchBuffer {
        PatchBuffer::new(8, 1)
    }

    #[test]
    fn a_ready_landing_gives_its_buffer_back_at_once() {
        let arrivals = Arrivals::default();
        let landing = Landing::ready(buffer());
        assert_eq!(landing.ticket(), None);
        assert_eq!(landing.samples(&arrivals).map(<[f32]>::len), Some(8));
        assert!(landing.take(&arrivals).is_ok());
    }

    #[test]
    fn an_in_flight_landing_is_held_until_its_ticket_arrives() {
        let arrivals = Arrivals::default();
        let ticket = arrivals.issue();
        // SAFETY: nothing writes the buffer; the ticket is marked below.
        let landing = unsafe { Landing::in_flight(buffer(), ticket) };
        assert!(landing.samples(&arrivals).is_none());
        let landing = landing.take(&arrivals).expect_err("still landing");
        arrivals.arrive(ticket);
        assert!(landing.has_landed(&arrivals));
        assert!(landing.take(&arrivals).is_ok());
    }

    #[test]
    fn tickets_know_their_predecessor() {
        let first = Ticket::new(1).unwrap();
        assert_eq!(first.previous(), None);
        assert_eq!(Ticket::new(2).unwrap().previous(), Some(first));
        assert_eq!(Ticket::new(0), None);
    }
}
