//! The k6 and Locust scripts, embedded in the binary, and writing them out —
//! for a run (with the contract as JSON beside them) or for people who run
//! the tools by hand (`mockdet perf export-scripts DIR`).

use std::path::{Path, PathBuf};

use super::config::Contract;

/// The k6 script.
pub(crate) const K6_SCRIPT: &str = include_str!("../k6/orchestration_load.js");
/// The Locust file.
pub(crate) const LOCUSTFILE: &str = include_str!("../locustfile_orchestration.py");

/// Where exported files landed.
#[derive(Debug, Clone)]
pub(crate) struct Exported {
    /// `<dir>/k6/orchestration_load.js`.
    pub(crate) k6: PathBuf,
    /// `<dir>/perf/locustfile_orchestration.py`.
    pub(crate) locust: PathBuf,
    /// `<dir>/perf/contract.json`.
    pub(crate) contract: PathBuf,
}

/// Writes the scripts in the seed's layout — `k6/orchestration_load.js`
/// and `perf/locustfile_orchestration.py` under `dir`, so the seed's
/// docker commands (`-v $(pwd)/../k6:/scripts`, `-f /mnt/locust/perf/…`)
/// work from `dir/perf` — plus the contract as JSON.
pub(crate) fn export(dir: &Path, contract: &Contract) -> std::io::Result<Exported> {
    let k6_dir = dir.join("k6");
    let perf_dir = dir.join("perf");
    std::fs::create_dir_all(&k6_dir)?;
    std::fs::create_dir_all(&perf_dir)?;
    let exported = Exported {
        k6: k6_dir.join("orchestration_load.js"),
        locust: perf_dir.join("locustfile_orchestration.py"),
        contract: perf_dir.join("contract.json"),
    };
    std::fs::write(&exported.k6, K6_SCRIPT)?;
    std::fs::write(&exported.locust, LOCUSTFILE)?;
    let json = serde_json::to_vec_pretty(contract).map_err(std::io::Error::other)?;
    std::fs::write(&exported.contract, json)?;
    Ok(exported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Shape;

    #[test]
    fn export_writes_the_seed_layout() {
        let dir = std::env::temp_dir().join(format!("mockdet-scripts-{}", std::process::id()));
        let exported = export(&dir, &Contract::preset(Shape::Seed)).unwrap();
        assert!(exported.k6.ends_with("k6/orchestration_load.js"));
        assert!(
            exported
                .locust
                .ends_with("perf/locustfile_orchestration.py")
        );
        let contract: Contract =
            serde_json::from_slice(&std::fs::read(&exported.contract).unwrap()).unwrap();
        assert_eq!(contract.orchestrate_path, "/orchestrate");
        assert_eq!(std::fs::read_to_string(&exported.k6).unwrap(), K6_SCRIPT);
    }
}
