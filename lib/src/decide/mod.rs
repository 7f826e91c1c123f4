//! Decisions at the moment of action.

pub mod shell;
