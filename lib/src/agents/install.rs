//! Installing rendered agent files: atomically, root-owned 0644, with a
//! manifest of what was written, so that drift is found, restored, and
//! `apply --remove` removes exactly mandate's files.
//!
//! Paths are machine paths (`/etc/codex/requirements.toml`); under `--root
//! DIR` each is written to `DIR/etc/codex/requirements.toml`. The manifest
//! (`agents.json` in the state directory) records, per file, the agent, the
//! machine path, the sha256 of the bytes written, and the backup of a file
//! that was there before when the policy allowed taking it over. A file that
//! exists but is not in the manifest belongs to someone else: it is never
//! overwritten unless takeover is allowed, and then it is first copied to a
//! backup that `remove` puts back.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RenderedFile;
use crate::atomic::write_atomic;

/// The manifest's file name in the state directory.
pub const MANIFEST: &str = "agents.json";
/// The directory, in the state directory, holding backups of taken-over files.
pub const BACKUPS: &str = "agents-backup";

/// What mandate wrote.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// One entry per file.
    pub files: Vec<Owned>,
}

/// One file mandate wrote.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Owned {
    /// The agent (`codex`, `claude-code`, `gemini-cli`).
    pub agent: String,
    /// The machine path.
    pub path: PathBuf,
    /// `sha256:` of the bytes written.
    pub sha256: String,
    /// The machine path of the backup of the file that was there before, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
}

/// Why installing failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The real path.
        path: PathBuf,
        /// What happened.
        #[source]
        source: io::Error,
    },
    /// The manifest is unreadable.
    #[error("{}: not a mandate manifest: {message}; move it aside and run `mandate apply` again", path.display())]
    Manifest {
        /// The real path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `sha256:HEX` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::resolve::hex(&Sha256::digest(bytes)))
}

/// What happened to one file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Outcome {
    /// Written where nothing was.
    Created,
    /// Mandate's own file, rewritten (its content changed or had drifted).
    Updated,
    /// Already exactly as rendered.
    Unchanged,
    /// Someone else's file, backed up and replaced (takeover allowed).
    TakenOver {
        /// The machine path of the backup.
        backup: PathBuf,
    },
    /// Someone else's file, left alone (takeover not allowed).
    Refused,
    /// Mandate's file, no longer rendered, removed (its backup, if any, put back).
    Removed,
    /// In the manifest but already gone.
    Gone,
}

/// One line of an install report.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// The agent.
    pub agent: String,
    /// The machine path.
    pub path: PathBuf,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// How a file on disk differs from what mandate would write.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "drift")]
pub enum Drift {
    /// Mandate's file is missing.
    Missing,
    /// The file differs from what would be rendered now.
    Differs {
        /// A line diff, `-` on disk, `+` rendered.
        diff: String,
        /// Whether it differs from what mandate last wrote (edited by hand)
        /// rather than only from what the policy now says.
        edited: bool,
    },
    /// A file mandate would write is someone else's.
    Foreign,
    /// A file mandate wrote that the policy no longer renders.
    Stale,
}

/// One drifted file.
#[derive(Clone, Debug, Serialize)]
pub struct DriftReport {
    /// The agent.
    pub agent: String,
    /// The machine path.
    pub path: PathBuf,
    /// How.
    #[serde(flatten)]
    pub drift: Drift,
}

/// Installs, checks and removes agent files under one root.
#[derive(Clone, Debug)]
pub struct Installer {
    root: Option<PathBuf>,
    state_dir: PathBuf,
}

impl Installer {
    /// An installer writing under `root` (`None`: `/`), keeping its manifest
    /// in `state_dir` (a machine path).
    pub fn new(root: Option<PathBuf>, state_dir: PathBuf) -> Installer {
        Installer { root, state_dir }
    }

    /// Where a machine path is on this filesystem.
    pub fn real(&self, path: &Path) -> PathBuf {
        match &self.root {
            Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
            None => path.to_path_buf(),
        }
    }

    fn manifest_path(&self) -> PathBuf {
        self.real(&self.state_dir.join(MANIFEST))
    }

    /// The manifest (empty when there is none).
    pub fn manifest(&self) -> Result<Manifest, InstallError> {
        let path = self.manifest_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| InstallError::Manifest {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(InstallError::Io { path, source: e }),
        }
    }

    fn save(&self, manifest: &Manifest) -> Result<(), InstallError> {
        let path = self.manifest_path();
        if manifest.files.is_empty() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(&path)(e)),
                _ => Ok(()),
            };
        }
        self.make_dirs(&path)?;
        let mut bytes = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
        bytes.push(b'\n');
        write_atomic(&path, &bytes, 0o644).map_err(io_error(&path))
    }

    /// Creates the missing parents of `path`, mode 0755.
    fn make_dirs(&self, path: &Path) -> Result<(), InstallError> {
        let Some(dir) = path.parent() else {
            return Ok(());
        };
        let mut missing = Vec::new();
        let mut at = dir;
        while !at.exists() {
            missing.push(at.to_path_buf());
            match at.parent() {
                Some(p) => at = p,
                None => break,
            }
        }
        for d in missing.iter().rev() {
            fs::create_dir(d)
                .or_else(|e| {
                    if e.kind() == io::ErrorKind::AlreadyExists {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .and_then(|()| fs::set_permissions(d, fs::Permissions::from_mode(0o755)))
                .map_err(io_error(d))?;
        }
        Ok(())
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, InstallError> {
        let real = self.real(path);
        match fs::symlink_metadata(&real) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&real)(e)),
            Ok(_) => {}
        }
        fs::read(&real).map(Some).map_err(io_error(&real))
    }

    fn backup_path(&self, file: &Path, bytes: &[u8]) -> PathBuf {
        let name = file
            .strip_prefix("/")
            .unwrap_or(file)
            .to_string_lossy()
            .replace('/', "_");
        let hash = sha256(bytes);
        let short = &hash["sha256:".len().."sha256:".len() + 12];
        self.state_dir.join(BACKUPS).join(format!("{name}.{short}"))
    }

    /// Writes `files` (the complete set mandate renders now), removes the
    /// files it wrote before that are no longer rendered, and saves the
    /// manifest. A file someone else wrote is replaced only when `takeover`
    /// is allowed, after a backup. The files of agents in `keep` (agents
    /// that could not be rendered this time) are left as they are.
    pub fn install(
        &self,
        files: &[RenderedFile],
        takeover: bool,
        keep: &[super::AgentKind],
    ) -> Result<Vec<Step>, InstallError> {
        let old = self.manifest()?;
        let mut manifest = Manifest::default();
        let mut steps = Vec::new();
        for file in files {
            let owned = old.files.iter().find(|o| o.path == file.path);
            let on_disk = self.read(&file.path)?;
            let hash = sha256(&file.bytes);
            let mut backup = owned.and_then(|o| o.backup.clone());
            let outcome = match (&on_disk, owned) {
                // Already exactly what mandate renders (even if the manifest
                // was lost): nothing to write, and nothing of anyone else's to lose.
                (Some(bytes), _) if *bytes == file.bytes => Outcome::Unchanged,
                (Some(_), Some(_)) => Outcome::Updated,
                (None, _) => Outcome::Created,
                (Some(bytes), None) if takeover => {
                    let path = self.backup_path(&file.path, bytes);
                    let real = self.real(&path);
                    self.make_dirs(&real)?;
                    write_atomic(&real, bytes, 0o600).map_err(io_error(&real))?;
                    backup = Some(path.clone());
                    Outcome::TakenOver { backup: path }
                }
                (Some(_), None) => Outcome::Refused,
            };
            if outcome != Outcome::Refused {
                if outcome != Outcome::Unchanged {
                    let real = self.real(&file.path);
                    self.make_dirs(&real)?;
                    write_atomic(&real, &file.bytes, 0o644).map_err(io_error(&real))?;
                }
                manifest.files.push(Owned {
                    agent: file.agent.name().to_owned(),
                    path: file.path.clone(),
                    sha256: hash,
                    backup,
                });
            }
            steps.push(Step {
                agent: file.agent.name().to_owned(),
                path: file.path.clone(),
                outcome,
            });
        }
        let rendered: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
        for owned in old
            .files
            .iter()
            .filter(|o| !rendered.contains(o.path.as_path()))
        {
            if keep.iter().any(|k| k.name() == owned.agent) {
                manifest.files.push(owned.clone());
            } else {
                steps.push(self.remove_one(owned)?);
            }
        }
        self.save(&manifest)?;
        Ok(steps)
    }

    fn remove_one(&self, owned: &Owned) -> Result<Step, InstallError> {
        let real = self.real(&owned.path);
        let outcome = match fs::remove_file(&real) {
            Ok(()) => Outcome::Removed,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Outcome::Gone,
            Err(e) => return Err(io_error(&real)(e)),
        };
        if let Some(backup) = &owned.backup {
            let from = self.real(backup);
            let bytes = fs::read(&from).map_err(io_error(&from))?;
            write_atomic(&real, &bytes, 0o644).map_err(io_error(&real))?;
            let _ = fs::remove_file(&from);
        }
        Ok(Step {
            agent: owned.agent.clone(),
            path: owned.path.clone(),
            outcome,
        })
    }

    /// Removes every file in the manifest (putting backups back) and the manifest.
    pub fn remove_all(&self) -> Result<Vec<Step>, InstallError> {
        let old = self.manifest()?;
        let mut steps = Vec::new();
        for owned in &old.files {
            steps.push(self.remove_one(owned)?);
        }
        self.save(&Manifest::default())?;
        Ok(steps)
    }

    /// How the files on disk differ from `files` (what would be written now).
    pub fn check(&self, files: &[RenderedFile]) -> Result<Vec<DriftReport>, InstallError> {
        let manifest = self.manifest()?;
        let mut drifts = Vec::new();
        for file in files {
            let owned = manifest.files.iter().find(|o| o.path == file.path);
            let drift = match (self.read(&file.path)?, owned) {
                (None, _) => Some(Drift::Missing),
                (Some(bytes), None) if bytes == file.bytes => None,
                (Some(_), None) => Some(Drift::Foreign),
                (Some(bytes), Some(o)) if bytes != file.bytes => Some(Drift::Differs {
                    diff: diff(
                        &String::from_utf8_lossy(&bytes),
                        &String::from_utf8_lossy(&file.bytes),
                    ),
                    edited: sha256(&bytes) != o.sha256,
                }),
                (Some(_), Some(_)) => None,
            };
            if let Some(drift) = drift {
                drifts.push(DriftReport {
                    agent: file.agent.name().to_owned(),
                    path: file.path.clone(),
                    drift,
                });
            }
        }
        let rendered: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
        for owned in manifest
            .files
            .iter()
            .filter(|o| !rendered.contains(o.path.as_path()))
        {
            drifts.push(DriftReport {
                agent: owned.agent.clone(),
                path: owned.path.clone(),
                drift: Drift::Stale,
            });
        }
        Ok(drifts)
    }
}

/// A line diff of two small texts: `-` lines only in `old`, `+` lines only
/// in `new`, two lines of context, `…` for what is left out.
pub fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', a[i]));
            i += 1;
        } else {
            lines.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= 2);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (mark, text)) in lines.iter().enumerate() {
        if near(k) {
            out.push_str(&format!("{mark} {text}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  …\n");
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::agents::AgentKind;

    fn file(path: &str, text: &str) -> RenderedFile {
        RenderedFile {
            agent: AgentKind::ClaudeCode,
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_lost_manifest_adopts_identical_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let installer = Installer::new(Some(tmp.path().to_path_buf()), "/var/lib/mandate".into());
        let ours = file("/etc/claude-code/managed-settings.json", "{}\n");
        let steps = installer
            .install(std::slice::from_ref(&ours), false, &[])
            .unwrap();
        assert_eq!(steps[0].outcome, Outcome::Created);
        fs::remove_file(installer.real(Path::new("/var/lib/mandate/agents.json"))).unwrap();
        // Identical bytes: adopted, nothing written.
        let steps = installer
            .install(std::slice::from_ref(&ours), false, &[])
            .unwrap();
        assert_eq!(steps[0].outcome, Outcome::Unchanged);
        assert_eq!(installer.manifest().unwrap().files.len(), 1);
        // Different bytes and no record: someone else's, left alone.
        fs::remove_file(installer.real(Path::new("/var/lib/mandate/agents.json"))).unwrap();
        let newer = file(
            "/etc/claude-code/managed-settings.json",
            "{\"model\": \"opus\"}\n",
        );
        let steps = installer
            .install(std::slice::from_ref(&newer), false, &[])
            .unwrap();
        assert_eq!(steps[0].outcome, Outcome::Refused);
        let on_disk = fs::read(installer.real(&newer.path)).unwrap();
        assert_eq!(on_disk, b"{}\n");
    }

    #[test]
    fn diff_marks_changes_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
        assert_eq!(d, "  …\n  b\n  c\n- d\n+ D\n  e\n  f\n  …\n");
    }
}
