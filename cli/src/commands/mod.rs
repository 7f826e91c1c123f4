//! One module per command family; each parses its arguments and renders.

pub mod agents;
pub mod apply;
pub mod cloud;
pub mod demo;
pub mod doctor;
pub mod inspect;
pub mod package;
pub mod state;
pub mod trust;
pub mod validate;
