//! What the pure-CPU benchmarks share: their sizes from the command line and the median.

use std::time::Duration;

/// The sizes given as arguments, or `default` when there are none.
pub fn sizes(default: &[u64]) -> Result<Vec<u64>, std::num::ParseIntError> {
    let given: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    Ok(if given.is_empty() {
        default.to_vec()
    } else {
        given
    })
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
