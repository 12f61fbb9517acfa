//! The safety argument of the crate: the numbered invariants that every
//! `// SAFETY:` comment cites. This page is `SAFETY.md`, included verbatim.
#![doc = include_str!("../SAFETY.md")]
