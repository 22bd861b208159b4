//! Steady-state ticks allocate nothing on the heap: the stream's tick (with
//! the backend's batched step) and the frontier decode are counted with a
//! counting global allocator.

mod common;

use common::Rig;
use earshot::audio_model::config::{CHANNELS, HOP};
use earshot::engine::SampleFrames;
use earshot::engine::backend::DecodeRequest;
use earshot::engine::backend::prelude::*;
use earshot::engine::sampler::SamplerKind;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// Safety: defers every operation to the system allocator; the counter is a
// thread-local `Cell` touched with `try_with`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // Safety: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // Safety: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // Safety: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn counted<R>(f: impl FnOnce() -> R) -> (R, u64) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (r, COUNT.with(Cell::get))
}

#[test]
fn the_counter_sees_allocations() {
    let (_, n) = counted(|| std::hint::black_box(vec![1u8; 64]));
    assert!(n >= 1);
}

#[test]
fn steady_state_step_and_decode_allocate_nothing() {
    for sampler in [SamplerKind::Ode, SamplerKind::SDE] {
        let mut rig = Rig::new(sampler, 9);
        let segment = 4 * HOP.0;
        let mut out = vec![0.0f32; segment as usize * CHANNELS];
        let decode = |rig: &mut Rig, p: earshot::engine::stream::Produce, out: &mut [f32]| {
            let start = p.anchor.start_sample(HOP) + SampleFrames(12 * HOP.0);
            let req = DecodeRequest {
                latents: p.latents,
                anchor: p.anchor,
                range: start..start + SampleFrames(segment),
            };
            rig.backend.decode(&req, out).unwrap();
            rig.stream.release(p.latents).unwrap();
        };
        // Warm up: the pipeline fills and every buffer reaches its size.
        for _ in 0..12 {
            if let Some(p) = rig.tick() {
                decode(&mut rig, p, &mut out);
            }
        }
        let forwards = rig.backend.counters().forwards;
        let ((), allocations) = counted(|| {
            for _ in 0..16 {
                let p = rig.tick().expect("one produce per tick in steady state");
                decode(&mut rig, p, &mut out);
            }
        });
        assert_eq!(rig.backend.counters().forwards - forwards, 16);
        assert_eq!(
            allocations, 0,
            "{sampler:?}: allocations in 16 steady-state ticks"
        );
    }
}
