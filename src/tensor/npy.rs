//! NumPy's `.npy` format (version 1.0): a header naming dtype and shape, then
//! the array's bytes in C order. Written header first, so an array of any size
//! is produced one image at a time.

/// The `.npy` header of a C-order array of `dtype` (`<f4`, …) and `shape`,
/// padded so the data starts on a 64-byte boundary.
pub(crate) fn header(dtype: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{dtype}', 'fortran_order': False, 'shape': {dims}, }}");
    // magic (6) + version (2) + length (2) + dict + padding + '\n' ≡ 0 mod 64.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_readable() {
        let h = header("<f4", &[12, 3, 640, 640]);
        assert_eq!(h.len() % 64, 0);
        assert!(h.starts_with(b"\x93NUMPY\x01\x00"));
        let len = usize::from(u16::from_le_bytes([h[8], h[9]]));
        assert_eq!(len + 10, h.len());
        let dict = std::str::from_utf8(&h[10..]).unwrap();
        assert!(
            dict.starts_with(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (12, 3, 640, 640), }"
            )
        );
        assert!(dict.ends_with('\n'));
        assert!(String::from_utf8_lossy(&header("|u1", &[5])).contains("'shape': (5,)"));
    }
}
