//! The weights loader refuses every kind of bad file with a typed error that
//! names the tensor and what was expected, and never panics.

mod common;

use earshot::audio_model::tensors::manifest;
use earshot::audio_model::weights::{FORMAT, FORMAT_KEY, SIZE_KEY};
use earshot::audio_model::{ModelWeights, WeightsError};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use std::collections::HashMap;

/// Serializes the tiny manifest with `edit` applied to (name, dtype, shape, bytes).
fn file_with(
    meta: Option<HashMap<String, String>>,
    edit: impl Fn(&str, &mut Dtype, &mut Vec<usize>, &mut Vec<u8>) -> bool,
) -> Vec<u8> {
    let weights = common::raw_tiny();
    let mut tensors = Vec::new();
    for spec in manifest(weights.config()) {
        let mut dtype = Dtype::F32;
        let mut shape = spec.shape.clone();
        let mut bytes: Vec<u8> = weights
            .get(&spec.name)
            .unwrap()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        if edit(&spec.name, &mut dtype, &mut shape, &mut bytes) {
            tensors.push((spec.name.clone(), dtype, shape, bytes));
        }
    }
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, meta).unwrap()
}

fn good_meta() -> Option<HashMap<String, String>> {
    Some(HashMap::from([
        (FORMAT_KEY.to_owned(), FORMAT.to_owned()),
        (SIZE_KEY.to_owned(), "tiny".to_owned()),
    ]))
}

fn keep(_: &str, _: &mut Dtype, _: &mut Vec<usize>, _: &mut Vec<u8>) -> bool {
    true
}

#[test]
fn a_good_file_round_trips() {
    let w = common::raw_tiny();
    let back = ModelWeights::from_bytes(&w.to_bytes().unwrap()).unwrap();
    assert_eq!(back.config(), w.config());
    assert_eq!(back.seed(), Some(7));
    assert_eq!(back.get("dec.head.bias"), w.get("dec.head.bias"));
    assert!(ModelWeights::from_bytes(&file_with(good_meta(), keep)).is_ok());
}

#[test]
fn missing_tensor_is_named_with_its_shape() {
    let bytes = file_with(good_meta(), |n, _, _, _| {
        n != "gen.blocks.2.attn.qkv.weight"
    });
    let err = ModelWeights::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(&err, WeightsError::MissingTensor { name, shape } if name == "gen.blocks.2.attn.qkv.weight" && shape == &vec![384, 128]),
        "{err}"
    );
    assert!(err.to_string().contains("gen.blocks.2.attn.qkv.weight"));
}

#[test]
fn wrong_shape_names_both_shapes() {
    let bytes = file_with(good_meta(), |n, _, shape, _| {
        if n == "dec.head.bias" {
            *shape = vec![4100, 2];
        }
        true
    });
    let err = ModelWeights::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(&err, WeightsError::WrongShape { name, expected, found } if name == "dec.head.bias" && expected == &vec![8200] && found == &vec![4100, 2]),
        "{err}"
    );
}

#[test]
fn wrong_dtype_is_refused() {
    let bytes = file_with(good_meta(), |n, dtype, _, bytes| {
        if n == "gen.x_embed.bias" {
            *dtype = Dtype::F16;
            bytes.truncate(bytes.len() / 2);
        }
        true
    });
    let err = ModelWeights::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(&err, WeightsError::WrongDtype { name, .. } if name == "gen.x_embed.bias"),
        "{err}"
    );
    assert!(err.to_string().contains("expected F32"));
}

#[test]
fn truncated_and_corrupt_files_are_refused() {
    let good = common::raw_tiny().to_bytes().unwrap();
    for cut in [0, 4, 8, 100, good.len() / 2, good.len() - 1] {
        let err = ModelWeights::from_bytes(&good[..cut]).unwrap_err();
        assert!(
            matches!(err, WeightsError::Corrupt(_)),
            "cut at {cut}: {err}"
        );
    }
    let mut garbled = good.clone();
    garbled[8..40].fill(b'#');
    assert!(matches!(
        ModelWeights::from_bytes(&garbled),
        Err(WeightsError::Corrupt(_))
    ));
    let mut huge_header = good;
    huge_header[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        ModelWeights::from_bytes(&huge_header),
        Err(WeightsError::Corrupt(_))
    ));
}

#[test]
fn non_finite_values_are_refused() {
    let bytes = file_with(good_meta(), |n, _, _, bytes| {
        if n == "gen.final.linear.bias" {
            bytes[12..16].copy_from_slice(&f32::NAN.to_le_bytes());
        }
        true
    });
    let err = ModelWeights::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(&err, WeightsError::NonFinite { name, index: 3 } if name == "gen.final.linear.bias"),
        "{err}"
    );
}

#[test]
fn metadata_is_checked() {
    let err = ModelWeights::from_bytes(&file_with(None, keep)).unwrap_err();
    assert!(
        matches!(
            err,
            WeightsError::MissingMetadata {
                key: FORMAT_KEY,
                ..
            }
        ),
        "{err}"
    );
    let mut meta = good_meta().unwrap();
    meta.insert(SIZE_KEY.to_owned(), "huge".to_owned());
    let err = ModelWeights::from_bytes(&file_with(Some(meta), keep)).unwrap_err();
    assert!(
        matches!(&err, WeightsError::BadMetadata { key: SIZE_KEY, found, .. } if found == "huge"),
        "{err}"
    );
    let mut meta = good_meta().unwrap();
    meta.insert(SIZE_KEY.to_owned(), "small".to_owned());
    let err = ModelWeights::from_bytes(&file_with(Some(meta), keep)).unwrap_err();
    assert!(
        matches!(
            err,
            WeightsError::WrongShape { .. }
                | WeightsError::MissingTensor { .. }
                | WeightsError::UnexpectedTensor { .. }
        ),
        "{err}"
    );
}

#[test]
fn unexpected_tensor_is_named() {
    let weights = common::raw_tiny();
    let extra = vec![0u8; 16];
    let mut views: Vec<(String, TensorView<'_>)> = Vec::new();
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = manifest(weights.config())
        .into_iter()
        .map(|s| {
            (
                s.name.clone(),
                s.shape,
                weights
                    .get(&s.name)
                    .unwrap()
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            )
        })
        .collect();
    for (n, s, b) in &raw {
        views.push((
            n.clone(),
            TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
        ));
    }
    views.push((
        "gen.extra".to_owned(),
        TensorView::new(Dtype::F32, vec![4], &extra).unwrap(),
    ));
    let bytes = safetensors::serialize(views, good_meta()).unwrap();
    let err = ModelWeights::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(&err, WeightsError::UnexpectedTensor { name, .. } if name == "gen.extra"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let err = ModelWeights::load(std::path::Path::new("/nonexistent/m.safetensors")).unwrap_err();
    assert!(matches!(err, WeightsError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/m.safetensors"));
}
