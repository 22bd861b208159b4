//! Where `earshot golden` finds its scenarios, cost profiles and baselines
//! when no flag names them. The search runs when the command runs (not
//! when the binary is built), so a binary that was copied or installed
//! elsewhere still finds them, and says where it looked when it cannot:
//!
//! 1. the directory named by [`GOLDEN_DIR_ENV`], if set;
//! 2. `golden/` under the current directory;
//! 3. `golden/` beside the executable or in any directory above it (a
//!    `target/release/earshot` inside a checkout finds the checkout's).
//!
//! A golden directory is one that holds a `scenarios/` directory.

use std::path::{Path, PathBuf};

/// The environment variable that names the golden directory.
pub const GOLDEN_DIR_ENV: &str = "EARSHOT_GOLDEN_DIR";

/// Why no golden directory was found.
#[derive(Debug, thiserror::Error)]
pub enum GoldenDirError {
    /// The environment variable is set but names no golden directory; an
    /// explicit choice is not silently replaced by a search.
    #[error("{GOLDEN_DIR_ENV}={} is not a golden directory (one holding scenarios/)", .0.display())]
    BadEnv(PathBuf),
    /// No candidate held a golden directory.
    #[error(
        "no golden directory (one holding scenarios/) found; tried: {}; set {GOLDEN_DIR_ENV} \
         or pass --scenarios, --profiles and --baselines",
        list(.0)
    )]
    NotFound(Vec<String>),
}

fn list(tried: &[String]) -> String {
    tried.join(", ")
}

/// The inputs of the search, so it can be run on any directories.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The value of [`GOLDEN_DIR_ENV`], if set.
    pub env: Option<PathBuf>,
    /// The current directory, if it could be read.
    pub cwd: Option<PathBuf>,
    /// The running executable, if it could be found.
    pub exe: Option<PathBuf>,
}

impl Search {
    /// The search for this process: its environment, current directory
    /// and executable.
    pub fn here() -> Self {
        Self {
            env: std::env::var_os(GOLDEN_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
            exe: std::env::current_exe().ok(),
        }
    }

    /// The golden directory: the first candidate in the module's order.
    pub fn find(&self) -> Result<PathBuf, GoldenDirError> {
        if let Some(dir) = &self.env {
            return if is_golden(dir) {
                Ok(dir.clone())
            } else {
                Err(GoldenDirError::BadEnv(dir.clone()))
            };
        }
        let mut tried = vec![format!("{GOLDEN_DIR_ENV} (unset)")];
        let from_cwd = self.cwd.iter().map(|cwd| cwd.join("golden"));
        let from_exe = self
            .exe
            .iter()
            .flat_map(|exe| exe.ancestors().skip(1))
            .map(|dir| dir.join("golden"));
        for candidate in from_cwd.chain(from_exe) {
            if is_golden(&candidate) {
                return Ok(candidate);
            }
            tried.push(candidate.display().to_string());
        }
        Err(GoldenDirError::NotFound(tried))
    }
}

fn is_golden(dir: &Path) -> bool {
    dir.join("scenarios").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory.
    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("earshot-golden-dir-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn golden_in(dir: &Path) -> PathBuf {
        let golden = dir.join("golden");
        std::fs::create_dir_all(golden.join("scenarios")).unwrap();
        golden
    }

    #[test]
    fn the_variable_wins_over_the_current_directory_and_the_executable() {
        let root = temp("env-wins");
        let chosen = golden_in(&root.join("chosen"));
        let cwd = root.join("cwd");
        golden_in(&cwd);
        let search = Search {
            env: Some(chosen.clone()),
            cwd: Some(cwd),
            exe: None,
        };
        assert_eq!(search.find().unwrap(), chosen);
    }

    #[test]
    fn a_variable_naming_no_golden_directory_is_an_error_not_a_fallback() {
        let root = temp("env-bad");
        let cwd = root.join("cwd");
        golden_in(&cwd);
        let search = Search {
            env: Some(root.join("missing")),
            cwd: Some(cwd),
            exe: None,
        };
        let err = search.find().unwrap_err().to_string();
        assert!(err.contains(GOLDEN_DIR_ENV), "{err}");
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn the_current_directory_comes_before_the_executable() {
        let root = temp("cwd-first");
        let cwd = root.join("cwd");
        let here = golden_in(&cwd);
        let checkout = root.join("checkout");
        golden_in(&checkout);
        let search = Search {
            env: None,
            cwd: Some(cwd),
            exe: Some(checkout.join("target/release/earshot")),
        };
        assert_eq!(search.find().unwrap(), here);
    }

    #[test]
    fn a_binary_inside_a_checkout_finds_the_checkout_from_anywhere() {
        let root = temp("from-exe");
        let checkout = root.join("checkout");
        let golden = golden_in(&checkout);
        let cwd = root.join("elsewhere");
        std::fs::create_dir_all(&cwd).unwrap();
        let search = Search {
            env: None,
            cwd: Some(cwd),
            exe: Some(checkout.join("target/release/earshot")),
        };
        assert_eq!(search.find().unwrap(), golden);
    }

    #[test]
    fn a_directory_without_scenarios_is_not_a_golden_directory() {
        let root = temp("no-scenarios");
        let cwd = root.join("cwd");
        std::fs::create_dir_all(cwd.join("golden")).unwrap();
        let search = Search {
            env: None,
            cwd: Some(cwd.clone()),
            exe: None,
        };
        assert!(search.find().is_err());
    }

    #[test]
    fn nothing_found_names_every_place_tried() {
        let root = temp("none");
        let cwd = root.join("cwd");
        let bin = root.join("bin");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let search = Search {
            env: None,
            cwd: Some(cwd.clone()),
            exe: Some(bin.join("earshot")),
        };
        let err = search.find().unwrap_err().to_string();
        assert!(err.contains(GOLDEN_DIR_ENV), "{err}");
        for tried in [cwd.join("golden"), bin.join("golden"), root.join("golden")] {
            assert!(
                err.contains(&tried.display().to_string()),
                "{tried:?}: {err}"
            );
        }
    }
}
