//! Smoke.
use earshot_engine::sim::SignalBackend;
use earshot_golden::costs::CostProfile;
use earshot_golden::metrics::measure;
use earshot_golden::scenario::Scenario;
use earshot_golden::virtual_run::{HashEncoder, run_virtual};

#[test]
fn smoke() {
    let s = Scenario::from_toml(
        r#"
name = "x"
about = "x"
duration = 288000
profile = "cpu-tiny"
[engine.runner.lead]
floor = 7200
[[action]]
at = 96000
knob = { name = "brightness", value = 0.9 }
[[action]]
at = 150000
prompt = { text = "a bright bell" }
[[action]]
at = 200000
burst = { name = "noise", moves = 100, over = 48000 }
"#,
        "x",
    )
    .unwrap();
    let p = CostProfile::load(std::path::Path::new("profiles"), "cpu-tiny").unwrap();
    let rec = run_virtual(
        &s,
        &p,
        Box::new(SignalBackend::default()),
        Box::new(HashEncoder::new(128)),
    )
    .unwrap();
    let m = measure(&rec);
    println!("{:#?}", m.run);
    for c in m.changes.iter().take(4) {
        println!("{c:?}");
    }
    println!("{:#?}", m.kinds);
}
