//! The encoder against reference values computed once with the original
//! model (sentence-transformers; see tests/fixtures/README.md): the same
//! token ids, and embeddings with cosine ≥ 0.999.

use earshot_text::{EMBEDDING_DIM, TextEncoder, TextEncoderError, locate};
use std::path::Path;

fn fixture() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/minilm_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn encoder() -> TextEncoder {
    TextEncoder::from_default_location(None).unwrap_or_else(|e| {
        panic!("{e} (the README's test command runs scripts/setup, which fetches it)")
    })
}

#[test]
fn token_ids_and_embeddings_match_the_original_model() {
    let reference = fixture();
    let mut encoder = encoder();
    let sentences = reference["sentences"].as_array().unwrap();
    for (i, sentence) in sentences.iter().enumerate() {
        let text = sentence.as_str().unwrap();
        let ids: Vec<u32> = reference["input_ids"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(encoder.token_ids(text).unwrap(), ids, "tokens of {text:?}");
        let want: Vec<f32> = reference["embeddings"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let got = encoder.embed(text).unwrap();
        assert_eq!(got.len(), EMBEDDING_DIM);
        let cosine: f32 = got.iter().zip(&want).map(|(a, b)| a * b).sum();
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!(
            "{i:>2} cosine {cosine:.7} max |diff| {worst:.2e}  {:?}",
            text.chars().take(40).collect::<String>()
        );
        assert!(cosine >= 0.999, "{text:?}: cosine {cosine}");
    }
}

#[test]
fn a_missing_model_names_every_place_it_looked() {
    let err = locate(Some(Path::new("/nonexistent/model"))).err();
    // The default location may hold the model; then the configured path
    // falls through to it, which is the documented order.
    if let Some(TextEncoderError::NotFound { tried }) = err {
        assert!(tried.contains("/nonexistent/model"), "{tried}");
    }
    let e = TextEncoderError::NotFound { tried: "x".into() }.to_string();
    assert!(
        e.contains("EARSHOT_TEXT_MODEL") && e.contains("scripts/setup"),
        "{e}"
    );
}

#[test]
fn a_corrupt_weights_file_is_a_typed_error() {
    let dir = std::env::temp_dir().join(format!("earshot-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let real = locate(None).expect("model installed by scripts/setup");
    std::fs::copy(real.join("tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    std::fs::write(dir.join("model.safetensors"), b"not safetensors").unwrap();
    let err = TextEncoder::load(&dir).unwrap_err();
    assert!(matches!(err, TextEncoderError::Weights { .. }), "{err}");
}
