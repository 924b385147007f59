//! Path arithmetic: normalising joined paths and expressing one path relative to
//! another, lexically; the names images go by ([`RootNames`]: relative to the
//! recipe folder, or to a root outside it under that root's name); and
//! [`resolved`], the one function that asks the file system, for where a path
//! really leads.
//!
//! An object in an object store is named by its URL, `s3://bucket/key`, kept
//! in a `PathBuf` like any other path ([`is_object_url`]): its components are
//! the scheme (`s3:`), the bucket and the key's segments, so prefix tests,
//! joins and [`RootNames`] work on it unchanged, and [`normalize`] keeps the
//! `//` that the URL is written with.

use std::path::{Component, Path, PathBuf};

/// The URL scheme of object-store paths, as its first path component.
pub(crate) const OBJECT_SCHEME: &str = "s3:";

/// Whether `path` is an object-store URL (`s3://bucket/key`).
pub(crate) fn is_object_url(path: &Path) -> bool {
    matches!(path.components().next(), Some(Component::Normal(c)) if c == OBJECT_SCHEME)
}

/// `p` as written in a recipe, resolved against the folder `base`: an
/// object-store URL stays as it is (normalised), anything else is joined to
/// `base` and normalised.
pub(crate) fn resolve(base: &Path, p: impl AsRef<Path>) -> PathBuf {
    let p = p.as_ref();
    if is_object_url(p) {
        normalize(p)
    } else {
        normalize(&base.join(p))
    }
}

/// Removes `.` components and folds `..` into its parent where there is one.
/// An object-store URL keeps its `scheme://` and never climbs above its bucket.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    if is_object_url(path) {
        let mut parts = path.components();
        parts.next();
        let bucket = parts.next().map(|c| c.as_os_str().to_owned());
        let key = normalize(parts.as_path());
        let mut url = std::ffi::OsString::from(format!("{OBJECT_SCHEME}//"));
        if let Some(bucket) = bucket {
            url.push(bucket);
            if key != Path::new(".") {
                url.push("/");
                url.push(key.as_os_str());
            }
        }
        return PathBuf::from(url);
    }
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
pub(crate) fn relative(path: &Path, base: &Path) -> PathBuf {
    // The usual case, a path inside `base`, without collecting either path's
    // components (this runs several times per image in a build).
    if let Ok(rest) = path.strip_prefix(base) {
        return rest.components().collect();
    }
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
pub(crate) fn slash(path: &Path) -> String {
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
pub(crate) fn escaped(path: &Path) -> String {
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

/// The names images go by in patterns, reports and output layouts: the path
/// relative to the recipe folder when the image lies inside it, else the path
/// inside its source root prefixed with that root's name (its folder name,
/// with parent folders added until it differs from every other root's name
/// and from the top folders of the roots inside the recipe folder):
/// `roots = ["../../data"]` names `/x/data/frames/c1/1.jpg` `data/frames/c1/1.jpg`.
#[derive(Debug, Clone, Default)]
pub(crate) struct RootNames {
    base: PathBuf,
    /// Roots outside `base` and their names, outermost first.
    outside: Vec<(PathBuf, PathBuf)>,
}

impl RootNames {
    /// Names for `roots` (absolute, normalised) of a recipe in `base`
    /// (absolute, normalised).
    pub(crate) fn new(roots: &[PathBuf], base: &Path) -> Self {
        let mut outer: Vec<&PathBuf> = roots.iter().filter(|r| !r.starts_with(base)).collect();
        outer.sort_by_key(|r| r.components().count());
        // A root inside another outside root goes by the outer one's name.
        let mut kept: Vec<&PathBuf> = Vec::new();
        for r in outer {
            if !kept.iter().any(|k| r.starts_with(k)) && !kept.contains(&r) {
                kept.push(r);
            }
        }
        let inside_tops: Vec<PathBuf> = roots
            .iter()
            .filter_map(|r| r.strip_prefix(base).ok())
            .filter_map(|r| r.components().next())
            .map(|c| PathBuf::from(c.as_os_str()))
            .collect();
        let parts = |r: &Path| -> Vec<std::ffi::OsString> {
            r.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n.to_owned()),
                    _ => None,
                })
                .collect()
        };
        let suffix = |r: &Path, k: usize| -> PathBuf {
            let p = parts(r);
            p[p.len().saturating_sub(k)..].iter().collect()
        };
        let outside = kept
            .iter()
            .map(|r| {
                let longest = parts(r).len().max(1);
                let name = (1..=longest)
                    .map(|k| suffix(r, k))
                    .find(|name| {
                        let top = name
                            .components()
                            .next()
                            .map(|c| PathBuf::from(c.as_os_str()));
                        !name.as_os_str().is_empty()
                            && kept
                                .iter()
                                .filter(|o| *o != r)
                                .all(|o| (1..=longest).all(|k| suffix(o, k) != *name))
                            && !top.is_some_and(|t| inside_tops.contains(&t))
                    })
                    .unwrap_or_else(|| {
                        // Nothing shorter is unique: the whole path, or `root`.
                        let all = suffix(r, longest);
                        if all.as_os_str().is_empty() {
                            PathBuf::from("root")
                        } else {
                            all
                        }
                    });
                ((*r).clone(), name)
            })
            .collect();
        RootNames {
            base: base.to_owned(),
            outside,
        }
    }

    /// The name `path` (absolute, normalised) goes by.
    pub(crate) fn rel(&self, path: &Path) -> PathBuf {
        if !path.starts_with(&self.base) {
            for (root, name) in &self.outside {
                if let Ok(inner) = path.strip_prefix(root) {
                    return name.join(inner);
                }
            }
        }
        relative(path, &self.base)
    }
}

/// Where `path` lies inside the folder `dir` (absolute, normalised), compared
/// as written and with symlinks resolved; `None` when it is outside.
pub(crate) fn inside(path: &Path, dir: &Path) -> Option<PathBuf> {
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
pub(crate) fn is_within(path: &Path, root: &Path) -> bool {
    path.starts_with(root)
}

/// Where `path` (absolute, normalised) really leads: its longest existing
/// ancestor with symlinks resolved, then the components that do not exist yet.
/// An output folder and a source root overlap when their resolved forms do.
pub(crate) fn resolved(path: &Path) -> PathBuf {
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
    fn object_urls_keep_their_scheme_and_join_like_paths() {
        let root = resolve(Path::new("/recipes"), "s3://pool-bucket/data/./frames/");
        assert_eq!(root, Path::new("s3://pool-bucket/data/frames"));
        assert!(is_object_url(&root));
        assert!(!is_object_url(Path::new("/recipes/s3/x.jpg")));
        assert_eq!(
            resolve(Path::new("/recipes"), "frames/../stills"),
            Path::new("/recipes/stills")
        );
        let image = normalize(&root.join("cam1/../cam2/1.jpg"));
        assert_eq!(
            image.to_str(),
            Some("s3://pool-bucket/data/frames/cam2/1.jpg")
        );
        assert!(image.starts_with(&root));
        let names = RootNames::new(std::slice::from_ref(&root), Path::new("/recipes"));
        assert_eq!(names.rel(&image), Path::new("frames/cam2/1.jpg"));
        assert_eq!(normalize(Path::new("s3://b")).to_str(), Some("s3://b"));
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("a/../../b")), Path::new("../b"));
        assert_eq!(normalize(Path::new("/../a")), Path::new("/a"));
        assert_eq!(normalize(Path::new("./")), Path::new("."));
    }

    #[test]
    fn relates() {
        for (path, base, want) in [
            ("/d/pool/frames/1.jpg", "/d/pool", "frames/1.jpg"),
            ("/d/data/1.jpg", "/d/pool", "../data/1.jpg"),
            ("/d/pool/a//b.jpg", "/d/pool/", "a/b.jpg"),
            ("/d/poolside/1.jpg", "/d/pool", "../poolside/1.jpg"),
            ("/d/pool", "/d/pool", ""),
            ("frames/1.jpg", "./frames", "1.jpg"),
        ] {
            let got = relative(Path::new(path), Path::new(base));
            assert_eq!(got, Path::new(want), "{path} from {base}");
        }
        assert_eq!(slash(Path::new("a/b/c.jpg")), "a/b/c.jpg");
        assert!(is_within(Path::new("/a/b/c"), Path::new("/a/b")));
        assert!(!is_within(Path::new("/a/bc"), Path::new("/a/b")));
    }

    #[test]
    fn names_roots_outside_the_recipe_folder_by_their_own_name() {
        let base = Path::new("/d/pool/recipes");
        let roots = [
            PathBuf::from("/d/data"),
            PathBuf::from("/d/data/frames"),
            PathBuf::from("/e/a/shots"),
            PathBuf::from("/e/b/shots"),
            PathBuf::from("/d/pool/recipes/local"),
            PathBuf::from("/f/local"),
        ];
        let names = RootNames::new(&roots, base);
        let rel = |p: &str| slash(&names.rel(Path::new(p)));
        assert_eq!(rel("/d/data/frames/c1/1.jpg"), "data/frames/c1/1.jpg");
        assert_eq!(rel("/e/a/shots/1.jpg"), "a/shots/1.jpg");
        assert_eq!(rel("/e/b/shots/1.jpg"), "b/shots/1.jpg");
        assert_eq!(rel("/d/pool/recipes/local/1.jpg"), "local/1.jpg");
        assert_eq!(rel("/f/local/1.jpg"), "f/local/1.jpg");
        // Outside every root: relative to the recipe folder.
        assert_eq!(rel("/g/1.jpg"), "../../../g/1.jpg");
        let names = RootNames::new(&[PathBuf::from("/")], base);
        assert_eq!(slash(&names.rel(Path::new("/x/1.jpg"))), "root/x/1.jpg");
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
