//! One module per command family; each parses its arguments and renders.

pub mod agents;
pub mod apply;
pub mod audit;
pub mod cloud;
pub mod decide;
pub mod demo;
pub mod doctor;
pub mod hook;
pub mod inspect;
pub mod meta;
pub mod package;
pub mod settings;
pub mod state;
pub mod trust;
pub mod validate;
