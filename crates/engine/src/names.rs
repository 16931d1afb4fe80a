//! Safe names.
