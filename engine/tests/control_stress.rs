//! Many threads changing knobs at once: every commit gets its own epoch,
//! epochs rise strictly in commit order (acks included), and the state
//! left is the last commit's.

use earshot_engine::ack::{AckKind, AckStage};
use earshot_engine::clock::{Clock, RealClock};
use earshot_engine::control::{Control, PromptError};
use earshot_engine::sim::signal::stereo;
use std::collections::HashMap;
use std::sync::Arc;

#[test]
fn concurrent_knob_changes_commit_in_one_order_and_the_last_one_wins() {
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    let control = Control::new(earshot_engine::sim::signal::stereo().knobs, 8, clock);
    let acks = control.subscribe_acks();
    let threads = 8;
    let per_thread = 400;
    let commits: Vec<Vec<(u64, f32)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let control = control.clone();
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..per_thread {
                        // Distinct values, so every call is a change.
                        let value =
                            (t * per_thread + i + 1) as f32 / (threads * per_thread + 1) as f32;
                        let commit = control.set_knob("brightness", value).unwrap();
                        assert!(commit.changed);
                        mine.push((commit.epoch, value));
                        // Bad input from the same threads changes nothing.
                        assert!(control.set_knob("brightness", f32::NAN).is_err());
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total = (threads * per_thread) as u64;
    let mut by_epoch: HashMap<u64, f32> = HashMap::new();
    for (epoch, value) in commits.iter().flatten() {
        assert!(
            by_epoch.insert(*epoch, *value).is_none(),
            "epoch {epoch} given twice"
        );
    }
    assert_eq!(by_epoch.len() as u64, total);
    assert!((1..=total).all(|e| by_epoch.contains_key(&e)), "no gaps");
    for mine in &commits {
        assert!(
            mine.windows(2).all(|w| w[0].0 < w[1].0),
            "each thread sees rising epochs"
        );
    }
    let state = control.lock();
    assert_eq!(state.knobs.epoch(), total);
    let mut row = [0.0f32; 4];
    state.knobs.row(0, &mut row);
    assert_eq!(
        row[0],
        stereo().knobs[0].normalize(by_epoch[&total]),
        "the last commit's value is in force"
    );
    drop(state);
    let committed: Vec<u64> = acks
        .try_iter()
        .filter(|e| e.kind == AckKind::Knob && e.stage == AckStage::Committed)
        .map(|e| e.epoch)
        .collect();
    assert_eq!(
        committed,
        (1..=total).collect::<Vec<_>>(),
        "acks in commit order"
    );
}

struct SlowEncoder;

impl earshot_engine::conditioning::PromptEncoder for SlowEncoder {
    fn encode(
        &mut self,
        prompt: &str,
    ) -> Result<
        earshot_engine::conditioning::ConditioningInput,
        earshot_engine::conditioning::EncoderError,
    > {
        // Long enough for other threads to pile up behind the encode lock.
        std::thread::sleep(std::time::Duration::from_micros(300));
        let mut input = earshot_engine::conditioning::ConditioningInput::null(
            earshot_engine::sim::signal::stereo().conditioning,
        );
        input.pooled[0] = prompt.len() as f32;
        Ok(input)
    }
}

#[test]
fn concurrent_prompts_commit_once_each_and_no_stale_encode_wins() {
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    let control = Control::new(earshot_engine::sim::signal::stereo().knobs, 8, clock);
    control.set_encoder(Box::new(SlowEncoder));
    let acks = control.subscribe_acks();
    let results: Vec<(String, Result<u64, _>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let control = control.clone();
                scope.spawn(move || {
                    (0..6)
                        .map(|i| {
                            let prompt = format!("prompt {t}-{i}{}", "x".repeat(t * 6 + i));
                            let r = control.set_prompt(&prompt);
                            (prompt, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut committed: Vec<(u64, &str)> = results
        .iter()
        .filter_map(|(p, r)| r.as_ref().ok().map(|e| (*e, p.as_str())))
        .collect();
    committed.sort();
    let epochs: Vec<u64> = committed.iter().map(|c| c.0).collect();
    assert_eq!(
        epochs,
        (1..=epochs.len() as u64).collect::<Vec<_>>(),
        "one epoch per commit, no gaps"
    );
    // Every request either committed or was overtaken by a newer one.
    assert!(
        results
            .iter()
            .all(|(_, r)| matches!(r, Ok(_) | Err(PromptError::Superseded))),
        "{results:?}"
    );
    let state = control.lock();
    let now = state.conditioning.as_ref().unwrap();
    let (last_epoch, last_prompt) = *committed.last().unwrap();
    assert_eq!(now.epoch, last_epoch);
    assert_eq!(now.prompt.as_deref(), Some(last_prompt));
    // No stale encode won: what is in force is the newest request.
    assert_eq!(
        state.requested_prompt.as_deref(),
        Some(last_prompt),
        "the newest request is in force"
    );
    assert_eq!(now.input.pooled[0], last_prompt.len() as f32);
    drop(state);
    let events: Vec<_> = acks
        .try_iter()
        .filter(|e| e.kind == AckKind::Conditioning)
        .collect();
    let commits: Vec<u64> = events
        .iter()
        .filter(|e| e.stage == AckStage::Committed)
        .map(|e| e.epoch)
        .collect();
    assert_eq!(commits, epochs, "one Committed ack per commit, in order");
    let received: Vec<u64> = events
        .iter()
        .filter(|e| e.stage == AckStage::Received)
        .map(|e| e.epoch)
        .collect();
    assert_eq!(
        received, epochs,
        "Received carries the epoch it committed at"
    );
}
