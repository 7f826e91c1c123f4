//! One module per command family; each parses its arguments and renders.

pub mod apply;
pub mod cloud;
pub mod demo;
pub mod doctor;
pub mod inspect;
pub mod meta;
pub mod package;
pub mod settings;
pub mod state;
pub mod trust;
pub mod validate;
