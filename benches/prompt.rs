//! Prompt ack on this CPU: `set_prompt` from received to committed (the
//! text encoder, the projection and the commit), alternating two one-line
//! prompts so every call commits.

use criterion::{Criterion, criterion_group, criterion_main};
use earshot::audio_model::ModelSize;
use earshot::engine::clock::{Clock, RealClock};
use earshot::engine::control::Control;
use earshot::prompt::TextPrompt;
use std::sync::Arc;

fn prompt(c: &mut Criterion) {
    let weights = earshot::audio_model::init_weights(ModelSize::Tiny, 7);
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    let control = Control::new(earshot_audio_model::knobs::knobs(), 8, clock);
    control.set_encoder(Box::new(
        TextPrompt::new(&weights, None).expect("scripts/setup fetches the text model"),
    ));
    let prompts = [
        "warm analog pads with slow movement",
        "bright plucked arpeggios",
    ];
    let mut i = 0;
    c.bench_function("prompt_received_to_committed", |b| {
        b.iter(|| {
            i += 1;
            control.set_prompt(prompts[i % 2]).unwrap()
        })
    });
}

criterion_group!(benches, prompt);
criterion_main!(benches);
