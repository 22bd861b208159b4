//! # earshot-golden
//!
//! The golden latency harness: scenario files in (an engine config, a cost
//! model, a timeline of actions at sample-frame times), a measured report
//! out (what a listener hears: when each change is first and fully
//! audible, where each millisecond went, whether the output underran), and
//! a pass/fail against stored baselines. It drives the engine through its
//! public API only; the backend is the caller's.
//!
//! Two modes: on the **virtual clock** every backend cost comes from the
//! cost model, so a run is bit-reproducible on any machine; **live** runs
//! use the real clock and a real backend.
//!
//! ```
//! use earshot_golden::scenario::Scenario;
//!
//! let s = Scenario::from_toml(
//!     r#"
//! name = "step"
//! about = "one knob step"
//! duration = 96000
//! profile = "cpu-tiny"
//! content = "signal"
//! [[action]]
//! at = 48000
//! knob = { name = "brightness", value = 0.9 }
//! "#,
//!     "step.toml",
//! )
//! .unwrap();
//! assert_eq!(s.actions.len(), 1);
//! ```

pub mod ablation;
pub mod baseline;
pub mod costs;
pub mod error;
pub mod live_run;
pub mod metrics;
pub mod plots;
pub mod record;
pub mod report;
pub mod report_plots;
pub mod scenario;
pub mod suite;
pub mod timeline;
pub mod virtual_run;

pub use error::ConfigError;
