//! Prompt encode time on this CPU: a one-line prompt and a long one.

use criterion::{Criterion, criterion_group, criterion_main};
use earshot_text::TextEncoder;
use std::hint::black_box;

fn encode(c: &mut Criterion) {
    let mut encoder =
        TextEncoder::from_default_location(None).expect("scripts/setup fetches the model");
    let short = "warm analog pads with slow movement";
    let long = "the quick brown fox jumps over the lazy dog ".repeat(20);
    c.bench_function("encode_one_line_prompt", |b| {
        b.iter(|| encoder.embed(black_box(short)).unwrap())
    });
    c.bench_function("encode_182_token_prompt", |b| {
        b.iter(|| encoder.embed(black_box(&long)).unwrap())
    });
}

criterion_group!(benches, encode);
criterion_main!(benches);
