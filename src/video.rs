//! Videos as frame sequences, extracted with the `ffmpeg` executable.
//!
//! (Being written; see the module docs once it lands.)
