//! Annotations as a bucketing source: YOLO, COCO and Pascal VOC.
//!
//! (Being written; see the module docs once it lands.)
