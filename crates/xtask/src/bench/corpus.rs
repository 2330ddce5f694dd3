//! The real-world compile corpus: `.wasm` files inside pinned npm packages, listed in
//! `bench/corpus.tsv`, fetched with `npm pack` into the cache folder and verified
//! against the committed sha256 checksums. Nothing third-party is committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::tools::capture;

/// One corpus entry as listed in `bench/corpus.tsv`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Short name used in tables.
    pub name: String,
    /// `package@version` for `npm pack`.
    pub package: String,
    /// Path of the `.wasm` file inside the package folder.
    pub path_in_package: String,
    /// Expected size in bytes.
    pub bytes: u64,
    /// Expected sha256, lowercase hex.
    pub sha256: String,
    /// Which toolchain produced the module.
    pub toolchain: String,
    /// A cheap export the startup benchmark calls (with zero arguments) after instantiating.
    pub first_call: String,
}

/// A corpus module ready on disk.
#[derive(Debug, Clone)]
pub struct Module {
    /// The corpus entry.
    pub entry: Entry,
    /// The verified `.wasm` file in the cache.
    pub file: PathBuf,
}

/// Parses the corpus list (tab-separated, `#` comments).
pub fn parse_list(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 7 {
            return Err(format!("corpus.tsv line {}: expected 7 fields", n + 1));
        }
        entries.push(Entry {
            name: fields[0].to_string(),
            package: fields[1].to_string(),
            path_in_package: fields[2].to_string(),
            bytes: fields[3]
                .parse()
                .map_err(|_| format!("corpus.tsv line {}: bad size", n + 1))?,
            sha256: fields[4].to_lowercase(),
            toolchain: fields[5].to_string(),
            first_call: fields[6].to_string(),
        });
    }
    entries.sort_by_key(|e| e.bytes);
    Ok(entries)
}

/// Reads the committed list, smallest module first.
pub fn load_list(repo: &Path) -> Result<Vec<Entry>, String> {
    let path = repo.join("bench").join("corpus.tsv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_list(&text)
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Makes `entry` available in `cache`, fetching it when absent; fails on a checksum
/// mismatch.
pub fn fetch(entry: &Entry, cache: &Path) -> Result<Module, String> {
    let file = cache.join(format!("{}.wasm", entry.name));
    if checksum_ok(&file, entry) {
        return Ok(Module {
            entry: entry.clone(),
            file,
        });
    }
    std::fs::create_dir_all(cache).map_err(|e| e.to_string())?;
    let tarball = npm_pack(&entry.package, cache)?;
    extract(&tarball, &entry.path_in_package, &file)?;
    if !checksum_ok(&file, entry) {
        let _ = std::fs::remove_file(&file);
        return Err(format!(
            "{}: sha256 of {} from {} does not match bench/corpus.tsv",
            entry.name, entry.path_in_package, entry.package
        ));
    }
    Ok(Module {
        entry: entry.clone(),
        file,
    })
}

fn checksum_ok(file: &Path, entry: &Entry) -> bool {
    std::fs::read(file)
        .map(|bytes| sha256_hex(&bytes) == entry.sha256)
        .unwrap_or(false)
}

/// Runs `npm pack` for `package` into `cache`, returning the tarball path.
fn npm_pack(package: &str, cache: &Path) -> Result<PathBuf, String> {
    println!("bench: fetching {package} (npm pack)");
    let out = capture(
        Command::new("npm")
            .args(["pack", "--silent", "--pack-destination"])
            .arg(cache)
            .arg(package),
    )?;
    let name = out.stdout.lines().last().unwrap_or("").trim().to_string();
    if !out.success || name.is_empty() {
        return Err(format!("npm pack {package} failed: {}", out.stderr.trim()));
    }
    Ok(cache.join(name))
}

/// Extracts one file of an npm tarball (whose files sit under `package/`).
fn extract(tarball: &Path, path_in_package: &str, dest: &Path) -> Result<(), String> {
    let out = Command::new("tar")
        .arg("-xzOf")
        .arg(tarball)
        .arg(format!("package/{path_in_package}"))
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tar {}: {}",
            tarball.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::write(dest, &out.stdout).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_list_parses_sorted_by_size() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let list = load_list(&repo).unwrap();
        assert!(list.len() >= 6);
        assert!(list.windows(2).all(|w| w[0].bytes <= w[1].bytes));
        assert!(list.iter().all(|e| e.sha256.len() == 64));
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
