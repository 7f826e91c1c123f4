//! mandate
