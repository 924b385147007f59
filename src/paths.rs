//! Path arithmetic: normalising joined paths and expressing one path relative to
//! another, lexically; and [`resolved`], the one function that asks the file
//! system, for where a path really leads.

use std::path::{Component, Path, PathBuf};

/// Removes `.` components and folds `..` into its parent where there is one.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(
                    out.components().next_back(),
                    Some(Component::RootDir | Component::Prefix(_))
                ) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// `path` relative to `base` (both normalised, both absolute or both relative),
/// with `..` where `path` lies outside `base`.
pub fn relative(path: &Path, base: &Path) -> PathBuf {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// A relative path as a `/`-separated string, the form patterns match against.
pub fn slash(path: &Path) -> String {
    let parts: Vec<_> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

/// A relative path as a `/`-separated string that names it exactly and fits on
/// one line: `%`, control characters and (in a component that is not UTF-8)
/// every non-ASCII byte are written `%XX`. Distinct paths never print alike,
/// and the form is reversible; for ordinary names it is [`slash`]'s.
pub fn escaped(path: &Path) -> String {
    let mut out = String::new();
    for (i, c) in path.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        escape_into(&mut out, c.as_os_str().as_encoded_bytes());
    }
    out
}

/// Appends one path component to `out`, escaped as [`escaped`] does.
fn escape_into(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            for ch in text.chars() {
                if ch == '%' || ch.is_control() {
                    let mut buf = [0u8; 4];
                    for b in ch.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                } else {
                    out.push(ch);
                }
            }
        }
        Err(_) => {
            for &b in bytes {
                if b == b'%' || !(0x20..0x7F).contains(&b) {
                    out.push_str(&format!("%{b:02X}"));
                } else {
                    out.push(char::from(b));
                }
            }
        }
    }
}

/// Where `path` lies inside the folder `dir` (absolute, normalised), compared
/// as written and with symlinks resolved; `None` when it is outside.
pub fn inside(path: &Path, dir: &Path) -> Option<PathBuf> {
    let path = normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
    path.strip_prefix(dir)
        .map(Path::to_owned)
        .or_else(|_| {
            resolved(&path)
                .strip_prefix(resolved(dir))
                .map(Path::to_owned)
        })
        .ok()
}

/// Whether `path` (normalised) stays inside `root` (normalised).
pub fn is_within(path: &Path, root: &Path) -> bool {
    path.starts_with(root)
}

/// Where `path` (absolute, normalised) really leads: its longest existing
/// ancestor with symlinks resolved, then the components that do not exist yet.
/// An output folder and a source root overlap when their resolved forms do.
pub fn resolved(path: &Path) -> PathBuf {
    resolved_within(path, 40)
}

/// [`resolved`], following at most `links` dangling symlinks.
fn resolved_within(path: &Path, links: usize) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(canonical, |p, c| p.join(c));
        }
        // A symlink to what does not exist yet leads where its target will be.
        if let (Ok(target), Some(parent), true) =
            (std::fs::read_link(existing), existing.parent(), links > 0)
        {
            let target = normalize(&parent.join(target));
            let whole = rest.iter().rev().fold(target, |p, c| p.join(c));
            return resolved_within(&whole, links - 1);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("a/../../b")), Path::new("../b"));
        assert_eq!(normalize(Path::new("/../a")), Path::new("/a"));
        assert_eq!(normalize(Path::new("./")), Path::new("."));
    }

    #[test]
    fn relates() {
        assert_eq!(
            relative(Path::new("/d/pool/frames/1.jpg"), Path::new("/d/pool")),
            Path::new("frames/1.jpg")
        );
        assert_eq!(
            relative(Path::new("/d/data/1.jpg"), Path::new("/d/pool")),
            Path::new("../data/1.jpg")
        );
        assert_eq!(slash(Path::new("a/b/c.jpg")), "a/b/c.jpg");
        assert!(is_within(Path::new("/a/b/c"), Path::new("/a/b")));
        assert!(!is_within(Path::new("/a/bc"), Path::new("/a/b")));
    }

    #[cfg(unix)]
    #[test]
    fn resolves_symlinks_of_existing_ancestors() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(base.join("pool")).unwrap();
        std::os::unix::fs::symlink(base.join("pool"), base.join("link")).unwrap();
        assert_eq!(
            resolved(&base.join("link/new/out")),
            base.join("pool/new/out")
        );
        assert_eq!(resolved(&base.join("pool")), base.join("pool"));
        assert_eq!(resolved(&base.join("none/x")), base.join("none/x"));
        // A link to a folder that does not exist yet.
        std::os::unix::fs::symlink(base.join("later"), base.join("dangling")).unwrap();
        assert_eq!(
            resolved(&base.join("dangling/r.html")),
            base.join("later/r.html")
        );
        // A loop ends.
        std::os::unix::fs::symlink(base.join("loop"), base.join("loop")).unwrap();
        let _ = resolved(&base.join("loop/x"));
    }
}
