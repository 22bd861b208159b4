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
//! let cfg: earshot_golden::RenderConfig = earshot_golden::RenderConfig::from_toml(
//!     "[stream]\nsteps = 4\n[knobs]\nbrightness = 0.9\n",
//! ).unwrap();
//! assert_eq!(cfg.stream.steps, Some(4));
//! ```

pub mod ablation;
pub mod baseline;
pub mod costs;
pub mod live_run;
pub mod metrics;
pub mod plots;
pub mod record;
pub mod render_config;
pub mod report;
pub mod report_plots;
pub mod scenario;
pub mod suite;
pub mod timeline;
pub mod virtual_run;

pub use render_config::{
    ConfigError, ModelSection, RenderConfig, RenderSection, SamplerName, StreamSection,
};
