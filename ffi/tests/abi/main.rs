//! The C ABI driven through its `extern "C"` functions, as a C host calls
//! them: error codes for every misuse, the handle's life, a host at a rate
//! other than the model's.

mod common;
mod errors;
mod handles;
mod host_rate;
mod knobs;
mod lifecycle;
