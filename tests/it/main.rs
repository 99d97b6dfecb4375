//! End-to-end tests, one binary (see ripgrep's layout): each module one area.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod health;
