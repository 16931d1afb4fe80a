//! Receipt codes.
