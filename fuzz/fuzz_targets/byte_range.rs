//! Range headers: whatever the header, the answer is the whole file, one range
//! inside the file, or unsatisfiable; never a range past the end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tonearm::media::range::ByteRange;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap()) % (1 << 40);
    let header = String::from_utf8_lossy(&data[8..]);
    match ByteRange::parse(Some(&header), size) {
        ByteRange::Whole | ByteRange::Unsatisfiable => {}
        ByteRange::Part { start, end } => {
            assert!(start <= end, "{header:?} on {size}: {start}-{end}");
            assert!(end < size, "{header:?} on {size}: {start}-{end}");
        }
    }
});
