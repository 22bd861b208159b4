//! # earshot-clap
//!
//! earshot as a CLAP plugin (work in progress).
