//! Where a file or folder lives, on this machine or in an object store, and
//! what differs between the two: whether a set may link to it, whether it is
//! read ahead through the store's client, how a set names it, how a missing
//! one is told. The rest of calibset asks [`Location`] these questions rather
//! than looking at a path's text ([`crate::paths::is_object_url`] is the one
//! parse).

use std::path::{Path, PathBuf};

use super::FileEntry;
use crate::paths;

/// A path of the recipe or the pool, by where it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location<'a> {
    /// A file or folder on this machine.
    Local(&'a Path),
    /// An object, or a prefix of objects, in a store: its URL
    /// (`s3://bucket/key`).
    Object(&'a Path),
}

impl<'a> Location<'a> {
    /// Where `path` lives.
    pub(crate) fn of(path: &'a Path) -> Self {
        match paths::is_object_url(path) {
            true => Location::Object(path),
            false => Location::Local(path),
        }
    }

    /// Whether it is on this machine: what calibset writes (the set, the
    /// visual report) must be.
    pub(crate) fn is_local(self) -> bool {
        matches!(self, Location::Local(_))
    }

    /// Whether a set may hard-link or symlink to it: a local file only (an
    /// object is downloaded into the set).
    pub(crate) fn can_link(self) -> bool {
        self.is_local()
    }

    /// Whether it is read ahead of use, many at a time, through the store's
    /// client (each read a request), rather than opened when it is needed.
    pub(crate) fn read_ahead(self) -> bool {
        !self.is_local()
    }

    /// Whether it names one file with the extension `ext` rather than a
    /// folder or prefix: a local path that is not a folder; an object key
    /// ending in `.ext` (telling a prefix from a key would take a request).
    pub(crate) fn is_one_file(self, ext: &str) -> bool {
        match self {
            Location::Local(p) => !p.is_dir(),
            Location::Object(url) => url.extension().is_some_and(|e| e == ext),
        }
    }

    /// How reports show it: an object by its URL, a local path by `local`.
    pub(crate) fn shown(self, local: impl FnOnce(&Path) -> String) -> String {
        match self {
            Location::Local(p) => local(p),
            Location::Object(url) => url.display().to_string(),
        }
    }

    /// Why it cannot serve as a root of the pool, in words (`None`: it can):
    /// a local folder must exist; a prefix must hold an object (one listing
    /// request, which also checks the credentials).
    pub(crate) fn missing_root(self) -> Option<String> {
        match self {
            Location::Local(p) if p.is_dir() => None,
            Location::Local(p) if p.exists() => Some(format!("{} is not a folder", p.display())),
            Location::Local(p) => Some(format!("{} does not exist", p.display())),
            Location::Object(url) => match super::remote::probe(url) {
                Ok(true) => None,
                Ok(false) => Some(format!("{} holds no object", url.display())),
                Err(e) => Some(e.to_string()),
            },
        }
    }

    /// Why it cannot be read as a file, in words (`None`: it can be): a
    /// local file must exist; an object is asked for (one request).
    pub(crate) fn missing_file(self) -> Option<String> {
        match self {
            Location::Local(p) if p.exists() => None,
            Location::Local(p) => Some(format!("{} does not exist", p.display())),
            Location::Object(url) => super::stat(url).err().map(|e| e.to_string()),
        }
    }
}

impl FileEntry {
    /// Where the file lives.
    pub(crate) fn location(&self) -> Location<'_> {
        Location::of(&self.path)
    }

    /// The name a set's lock manifest gives it, relative to the recipe folder
    /// `base`; an object's is its [`FileEntry::rel`] (its root's last prefix
    /// segment, then its key under the root), so that a set built from an
    /// object store locks the same names as one built from a local copy of it
    /// in the recipe's folder.
    pub(crate) fn name_in_set(&self, base: &Path) -> PathBuf {
        match self.location() {
            Location::Object(_) => PathBuf::from(&self.rel),
            Location::Local(path) => paths::relative(path, base),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_read_ahead_and_never_linked() {
        let object = Location::of(Path::new("s3://bucket/frames/a.jpg"));
        assert!(!object.is_local() && !object.can_link() && object.read_ahead());
        assert!(object.is_one_file("jpg") && !object.is_one_file("parquet"));
        assert_eq!(object.shown(|_| unreachable!()), "s3://bucket/frames/a.jpg");
        // A local folder named like a scheme is still a local folder.
        let local = Location::of(Path::new("/recipes/s3/frames"));
        assert!(local.is_local() && local.can_link() && !local.read_ahead());
        assert_eq!(
            local.shown(|p| format!("<{}>", p.display())),
            "</recipes/s3/frames>"
        );
    }

    #[test]
    fn a_missing_local_root_or_file_says_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(Location::of(dir.path()).missing_root(), None);
        assert!(
            Location::of(&file)
                .missing_root()
                .unwrap()
                .ends_with("is not a folder")
        );
        let gone = dir.path().join("gone");
        assert!(
            Location::of(&gone)
                .missing_root()
                .unwrap()
                .ends_with("does not exist")
        );
        assert_eq!(Location::of(&file).missing_file(), None);
        assert!(
            Location::of(&gone)
                .missing_file()
                .unwrap()
                .ends_with("does not exist")
        );
        assert!(Location::of(&file).is_one_file("parquet"));
        assert!(!Location::of(dir.path()).is_one_file("parquet"));
    }
}
