//! Writing the preprocessed tensors: `calib.npy`, `calib.npz` and the SNPE/QNN
//! `raw/` files with `input_list.txt`, streamed. The array's header goes first
//! (its shape is known), then images are decoded and preprocessed in parallel a
//! few at a time and appended in order, so memory stays at a handful of images
//! however large the array.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::{HandoffError, io};
use crate::decode::Limits;
use crate::export::{Produce, ProduceError, write_new};
use crate::tensor::{Source, Spec, npy_header, preprocess};

/// The tensors of a set: which images, how they are preprocessed, and which
/// files hold them.
#[derive(Debug, Clone)]
pub(crate) struct TensorJob {
    /// The set's images, in lock-manifest order.
    pub sources: Vec<Source>,
    /// The recipe's `[tensor]`.
    pub spec: Spec,
    /// Write `calib.npy`.
    pub npy: bool,
    /// Write `calib.npz`.
    pub npz: bool,
    /// Write `raw/NNNNNN.raw` and `input_list.txt`.
    pub raw: bool,
    /// Decode limits (the recipe's).
    pub limits: Limits,
}

/// Images decoded and preprocessed at a time (per worker thread: two).
const BATCH_PER_THREAD: usize = 2;

impl Produce for TensorJob {
    fn paths(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if self.npy {
            paths.push(PathBuf::from("calib.npy"));
        }
        if self.npz {
            paths.push(PathBuf::from("calib.npz"));
        }
        if self.raw {
            paths.extend((0..self.sources.len()).map(raw_name));
            paths.push(PathBuf::from("input_list.txt"));
        }
        paths
    }

    fn steps(&self) -> u64 {
        self.sources.len() as u64
    }

    fn write(
        &self,
        dir: &Path,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(),
    ) -> Result<(), ProduceError> {
        Ok(self.stream(dir, cancel, progress)?)
    }
}

impl TensorJob {
    /// Writes the tensors into `dir`, calling `progress` per image.
    fn stream(
        &self,
        dir: &Path,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(),
    ) -> Result<(), HandoffError> {
        let mut sinks = Sinks::open(self, dir)?;
        let batch = BATCH_PER_THREAD * rayon::current_num_threads().max(1);
        for (chunk_no, chunk) in self.sources.chunks(batch).enumerate() {
            crate::cancel::check(cancel).map_err(|_| HandoffError::Interrupted)?;
            let tensors: Vec<Result<Vec<u8>, HandoffError>> =
                chunk.par_iter().map(|source| self.tensor(source)).collect();
            for (k, tensor) in tensors.into_iter().enumerate() {
                sinks.push(chunk_no * batch + k, &tensor?)?;
                progress();
            }
        }
        sinks.finish()
    }

    /// One image's tensor.
    fn tensor(&self, source: &Source) -> Result<Vec<u8>, HandoffError> {
        preprocess(source, &self.spec, &self.limits).map_err(|message| HandoffError::Tensor {
            path: source.name(),
            message,
        })
    }
}

/// `raw/000123.raw`.
fn raw_name(i: usize) -> PathBuf {
    PathBuf::from(format!("raw/{i:06}.raw"))
}

/// The open files tensors are appended to.
struct Sinks {
    dir: PathBuf,
    npy: Option<BufWriter<File>>,
    npz: Option<zip::ZipWriter<File>>,
    raw: bool,
    list: Vec<u8>,
    input: Option<String>,
}

impl Sinks {
    fn open(job: &TensorJob, dir: &Path) -> Result<Self, HandoffError> {
        let mut shape = vec![job.sources.len()];
        shape.extend(job.spec.shape());
        let header = npy_header(job.spec.dtype.numpy(), &shape);
        let create = |name: &str| {
            let path = dir.join(name);
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io("write", &path))
        };
        let npy = match job.npy {
            true => {
                let mut w = BufWriter::with_capacity(1 << 20, create("calib.npy")?);
                w.write_all(&header)
                    .map_err(io("write", &dir.join("calib.npy")))?;
                Some(w)
            }
            false => None,
        };
        let npz = match job.npz {
            true => {
                let path = dir.join("calib.npz");
                let mut z = zip::ZipWriter::new(create("calib.npz")?);
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored)
                    .large_file(true);
                let entry = format!("{}.npy", job.spec.input_name());
                z.start_file(entry, options)
                    .map_err(|e| io("write", &path)(e.into()))?;
                z.write_all(&header).map_err(io("write", &path))?;
                Some(z)
            }
            false => None,
        };
        if job.raw {
            let raw = dir.join("raw");
            std::fs::create_dir_all(&raw).map_err(io("create", &raw))?;
        }
        Ok(Sinks {
            dir: dir.to_owned(),
            npy,
            npz,
            raw: job.raw,
            list: Vec::new(),
            input: job.spec.input.clone(),
        })
    }

    /// Appends image `i`'s tensor everywhere.
    fn push(&mut self, i: usize, tensor: &[u8]) -> Result<(), HandoffError> {
        if let Some(w) = &mut self.npy {
            w.write_all(tensor)
                .map_err(io("write", &self.dir.join("calib.npy")))?;
        }
        if let Some(z) = &mut self.npz {
            z.write_all(tensor)
                .map_err(io("write", &self.dir.join("calib.npz")))?;
        }
        if self.raw {
            let name = raw_name(i);
            let path = self.dir.join(&name);
            write_new(&path, tensor).map_err(io("write", &path))?;
            if let Some(input) = &self.input {
                self.list.extend_from_slice(input.as_bytes());
                self.list.extend_from_slice(b":=");
            }
            self.list
                .extend_from_slice(name.to_string_lossy().as_bytes());
            self.list.push(b'\n');
        }
        Ok(())
    }

    /// Flushes and closes every file.
    fn finish(self) -> Result<(), HandoffError> {
        if let Some(mut w) = self.npy {
            w.flush()
                .map_err(io("write", &self.dir.join("calib.npy")))?;
        }
        if let Some(z) = self.npz {
            let path = self.dir.join("calib.npz");
            z.finish().map_err(|e| io("write", &path)(e.into()))?;
        }
        if self.raw {
            let path = self.dir.join("input_list.txt");
            std::fs::write(&path, &self.list).map_err(io("write", &path))?;
        }
        Ok(())
    }
}
