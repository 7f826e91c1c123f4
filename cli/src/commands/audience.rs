//! Who is reading: a developer on a managed machine is told that their
//! organisation manages a setting and whom to ask; fixes that change
//! managed policy (sign, install, sync) are offered only to whoever can act
//! on them.

use std::os::unix::fs::MetadataExt as _;

use mandate::resolve::{Effective, KeyReport, SourceReport};
use mandate::{Environment, Location, SourceKind};
use serde::Serialize;

use crate::Globals;

/// Whether the person running this can change managed policy here: root on
/// this machine, or under `--root DIR` the owner of `DIR` (or root).
pub fn is_admin(globals: &Globals) -> bool {
    let uid = Environment::capture().uid;
    if uid == 0 {
        return true;
    }
    match &globals.root {
        Some(dir) => std::fs::metadata(dir).is_ok_and(|m| m.uid() == uid),
        None => false,
    }
}

/// The managed policy file a location (`FILE:LINE:COL`, `FILE [id vN]:…`
/// or `PLIST: Key > path`) lies in.
fn report_for<'e>(effective: &'e Effective, location: &Location) -> Option<&'e SourceReport> {
    effective.sources.iter().find(|s| {
        s.name.is_managed()
            && s.location.is_file()
            && location.is_file()
            && s.location.origin == location.origin
    })
}

/// The managed policies that decide `report`'s setting: those that set a
/// requirement on it or refused a value, and the one that supplied a locked
/// value.
pub fn managing<'e>(effective: &'e Effective, report: &KeyReport) -> Vec<&'e SourceReport> {
    let mut locations: Vec<&Location> = report
        .rejected
        .iter()
        .filter_map(|r| r.constraint.as_ref())
        .filter(|c| c.source.is_managed())
        .map(|c| &c.location)
        .collect();
    if report.locked {
        locations.push(&report.location);
    }
    // Whoever set a requirement on it, as the combined requirement names them.
    for s in effective.sources.iter().filter(|s| s.name.is_managed()) {
        let named = report.constraint_lines.iter().any(|line| {
            line.match_indices(s.location.origin.as_str())
                .any(|(at, m)| line[at + m.len()..].starts_with([':', ' ', ')']))
        });
        if named && s.location.is_file() && !s.location.origin.is_empty() {
            locations.push(&s.location);
        }
    }
    let mut found: Vec<&SourceReport> = Vec::new();
    for location in locations {
        if let Some(s) = report_for(effective, location)
            && !found.iter().any(|f| f.location == s.location)
        {
            found.push(s);
        }
    }
    found
}

/// One managed policy that decides a setting, as JSON (`managed_by`).
#[derive(Debug, Serialize)]
pub struct ManagedBy<'e> {
    /// The source.
    pub source: SourceKind,
    /// The policy file: `location` and `at`.
    #[serde(flatten)]
    pub location: &'e Location,
    /// The policy id.
    pub id: Option<&'e str>,
    /// What the policy is for.
    pub description: Option<&'e str>,
    /// Whom to ask.
    pub contact: Option<&'e str>,
}

/// The policies as JSON: source, location, id, description, contact.
pub fn managing_json<'e>(managing: &[&'e SourceReport]) -> Vec<ManagedBy<'e>> {
    managing
        .iter()
        .map(|s| ManagedBy {
            source: s.name,
            location: &s.location,
            id: s.id.as_deref(),
            description: s.description.as_deref(),
            contact: s.contact.as_deref(),
        })
        .collect()
}

/// What the reader can do about a setting managed policy decides: for a
/// developer, who manages it and whom to ask; for an admin, where to change
/// it and how to check the change before it lands. Empty when no managed
/// policy decides it.
pub fn note(globals: &Globals, managing: &[&SourceReport]) -> String {
    if managing.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    if is_admin(globals) {
        out.push_str("as an admin: change the requirement in ");
        let places: Vec<String> = managing.iter().map(|s| s.location.to_string()).collect();
        out.push_str(&places.join(", "));
        out.push_str(
            "; re-sign a signed policy (`mandate sign`), check it with `mandate verify --machine FILE`, then install it",
        );
        return out;
    }
    out.push_str("your organisation manages this setting");
    for s in managing {
        let what = match (&s.id, &s.description) {
            (Some(id), Some(d)) => format!("{id}: {d}"),
            (Some(id), None) => id.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => s.location.to_string(),
        };
        out.push_str(&format!("\n  {} policy ({what})", s.name));
    }
    let contacts: Vec<&str> = managing
        .iter()
        .filter_map(|s| s.contact.as_deref())
        .collect();
    if contacts.is_empty() {
        out.push_str("\nto change it, ask whoever administers this machine's agent policy (the policy names no contact)");
    } else {
        out.push_str(&format!("\nto change it, ask {}", contacts.join(" or ")));
    }
    out
}
