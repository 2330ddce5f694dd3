//! Finding the testsuite and its feature groups.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One `.wast` script of the testsuite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecFile {
    /// Its full path.
    pub path: PathBuf,
    /// Its path relative to the testsuite root, with `/` separators (e.g. `extra/memory_grow.wast`).
    pub name: String,
    /// Its feature group from `GROUPS.tsv` (`core`, `bulk-memory`, `simd`, ...), or `unknown`.
    pub group: String,
}

/// The WebAssembly spec testsuite on disk.
#[derive(Clone, Debug)]
pub struct Suite {
    root: PathBuf,
    groups: HashMap<String, String>,
}

impl Suite {
    /// The groups that make up WebAssembly 2.0 without SIMD.
    pub const WASM2_GROUPS: [&'static str; 2] = ["core", "bulk-memory"];

    /// The testsuite at `KILN_SPEC_TESTSUITE`, else at `../shared/spec-testsuite` beside the
    /// workspace; `None` if that folder does not exist (callers then skip, saying so).
    pub fn locate() -> Option<Suite> {
        let root = match std::env::var_os("KILN_SPEC_TESTSUITE") {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec-testsuite"),
        };
        root.is_dir().then(|| Suite::at(root))
    }

    /// The testsuite rooted at `root`; groups are read from its `GROUPS.tsv` if present.
    pub fn at(root: impl Into<PathBuf>) -> Suite {
        let root = root.into();
        let text = std::fs::read_to_string(root.join("GROUPS.tsv")).unwrap_or_default();
        let groups = text
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once('\t'))
            .map(|(path, group)| (path.to_string(), group.trim().to_string()))
            .collect();
        Suite { root, groups }
    }

    /// The testsuite's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every `.wast` file whose group is in `groups` (all files when `None`), sorted by name.
    pub fn files(&self, groups: Option<&[&str]>) -> Vec<SpecFile> {
        let mut files = Vec::new();
        collect(&self.root, &mut files);
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let name = path
                    .strip_prefix(&self.root)
                    .expect("under root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let group = self
                    .groups
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| "unknown".into());
                SpecFile { path, name, group }
            })
            .filter(|f| groups.is_none_or(|g| g.contains(&f.group.as_str())))
            .collect()
    }

    /// Every module of the files in `groups` ([`crate::script_modules`]), with a name
    /// `file:line` for messages. Files that do not parse are skipped. Cost: reads and encodes
    /// one file at a time.
    pub fn modules(&self, groups: Option<&[&str]>) -> impl Iterator<Item = (String, Vec<u8>)> {
        self.files(groups).into_iter().flat_map(|file| {
            let text = std::fs::read_to_string(&file.path).unwrap_or_default();
            let found = crate::script_modules(&text).unwrap_or_default();
            found
                .into_iter()
                .map(move |m| (format!("{}:{}", file.name, m.line), m.wasm))
        })
    }

    /// The file named `name` (relative to the root), if it exists.
    pub fn file(&self, name: &str) -> Option<SpecFile> {
        self.files(None).into_iter().find(|f| f.name == name)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "wast") {
            out.push(path);
        }
    }
}
