//! Capability tests (filled below).
