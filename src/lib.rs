//! earshot
