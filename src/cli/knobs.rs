//! `earshot knobs`.

use earshot::audio_model::knobs::KNOBS;

/// Prints every knob with its range, default and unit.
pub fn print() {
    println!(
        "{:<12} {:>6} {:>6} {:>8}  description",
        "knob", "min", "max", "default"
    );
    for k in KNOBS {
        let unit = if k.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", k.unit)
        };
        println!(
            "{:<12} {:>6} {:>6} {:>8}  {}{unit}",
            k.name, k.min, k.max, k.default, k.description
        );
    }
}
