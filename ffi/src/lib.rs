//! # earshot-ffi
//!
//! earshot's C ABI (work in progress).
