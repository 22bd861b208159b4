//! Many threads changing knobs at once: every commit gets its own epoch,
//! epochs rise strictly in commit order (acks included), and the state
//! left is the last commit's.

use earshot_engine::ack::{AckKind, AckStage};
use earshot_engine::clock::{Clock, RealClock};
use earshot_engine::control::Control;
use earshot_engine::model::knobs::KNOBS;
use std::collections::HashMap;
use std::sync::Arc;

#[test]
fn concurrent_knob_changes_commit_in_one_order_and_the_last_one_wins() {
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    let control = Control::new(8, clock);
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
        KNOBS[0].normalize(by_epoch[&total]),
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
